/*
 * dl_crypto.h — OpenSSL's libcrypto, loaded on first use (scalers/dynlib.h
 * says why). The daemon needs it only for delegated authentication (X.509
 * client certificates, the token cache's HMAC), the kube client and the
 * certificates (made in a child process, or by `scalewise certs`), so a
 * server in anonymous mode never maps it. Include this after the OpenSSL
 * headers, instead of linking libcrypto; call sw_crypto_load() first (the
 * entry points of api/certs.c, api/authn.c and api/kube.c do).
 */
#ifndef SW_DL_CRYPTO_H
#define SW_DL_CRYPTO_H

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stddef.h>

#define SW_CRYPTO_FUNCS(X) \
	 X(ASN1_INTEGER_free) X(ASN1_STRING_to_UTF8) X(ASN1_TIME_diff) \
	 X(BIO_free) X(BIO_new_mem_buf) X(BN_bin2bn) \
	 X(BN_free) X(BN_to_ASN1_INTEGER) X(CRYPTO_free) \
	 X(ERR_clear_error) X(ERR_error_string_n) X(ERR_get_error) \
	 X(EVP_DecodeFinal) X(EVP_DecodeUpdate) X(EVP_DigestFinal_ex) \
	 X(EVP_DigestInit_ex) X(EVP_DigestUpdate) X(EVP_ENCODE_CTX_free) \
	 X(EVP_ENCODE_CTX_new) X(EVP_MAC_CTX_dup) X(EVP_MAC_CTX_free) \
	 X(EVP_MAC_CTX_new) X(EVP_MAC_fetch) X(EVP_MAC_final) \
	 X(EVP_MAC_free) X(EVP_MAC_init) X(EVP_MAC_update) \
	 X(EVP_MD_CTX_free) X(EVP_MD_CTX_new) X(EVP_PKEY_Q_keygen) \
	 X(EVP_PKEY_free) X(EVP_sha256) X(OPENSSL_cleanse) \
	 X(OPENSSL_sk_new_null) X(OPENSSL_sk_num) X(OPENSSL_sk_pop_free) \
	 X(OPENSSL_sk_push) X(OPENSSL_sk_value) X(OSSL_PARAM_construct_end) \
	 X(OSSL_PARAM_construct_utf8_string) X(PEM_read_PrivateKey) X(PEM_read_X509) \
	 X(PEM_read_bio_X509) X(PEM_write_PrivateKey) X(PEM_write_X509) \
	 X(RAND_bytes) X(X509V3_EXT_conf_nid) X(X509V3_set_ctx) \
	 X(X509_EXTENSION_free) X(X509_NAME_ENTRY_get_data) X(X509_NAME_add_entry_by_txt) \
	 X(X509_NAME_get_entry) X(X509_NAME_get_index_by_NID) X(X509_STORE_CTX_free) \
	 X(X509_STORE_CTX_get0_chain) X(X509_STORE_CTX_get_error) X(X509_STORE_CTX_init) \
	 X(X509_STORE_CTX_new) X(X509_STORE_CTX_set_purpose) X(X509_STORE_add_cert) \
	 X(X509_STORE_free) X(X509_STORE_new) X(X509_STORE_set_flags) \
	 X(X509_add_ext) X(X509_free) X(X509_get0_notAfter) \
	 X(X509_get_extended_key_usage) X(X509_get_extension_flags) X(X509_get_subject_name) \
	 X(X509_getm_notAfter) X(X509_getm_notBefore) X(X509_gmtime_adj) \
	 X(X509_new) X(X509_set_issuer_name) X(X509_set_pubkey) \
	 X(X509_set_serialNumber) X(X509_set_version) X(X509_sign) \
	 X(X509_verify_cert) X(X509_verify_cert_error_string) X(d2i_X509) \

struct sw_crypto_api {
#define SW_X(f) __typeof__(f) *f;
	SW_CRYPTO_FUNCS(SW_X)
#undef SW_X
};
extern struct sw_crypto_api sw_crypto;

/* dlopens libcrypto once; 0 or -1 with err. */
int sw_crypto_load(char *err, size_t errlen);

#ifndef SW_DL_IMPL
#define ASN1_INTEGER_free sw_crypto.ASN1_INTEGER_free
#define ASN1_STRING_to_UTF8 sw_crypto.ASN1_STRING_to_UTF8
#define ASN1_TIME_diff sw_crypto.ASN1_TIME_diff
#define BIO_free sw_crypto.BIO_free
#define BIO_new_mem_buf sw_crypto.BIO_new_mem_buf
#define BN_bin2bn sw_crypto.BN_bin2bn
#define BN_free sw_crypto.BN_free
#define BN_to_ASN1_INTEGER sw_crypto.BN_to_ASN1_INTEGER
#define CRYPTO_free sw_crypto.CRYPTO_free
#define ERR_clear_error sw_crypto.ERR_clear_error
#define ERR_error_string_n sw_crypto.ERR_error_string_n
#define ERR_get_error sw_crypto.ERR_get_error
#define EVP_DecodeFinal sw_crypto.EVP_DecodeFinal
#define EVP_DecodeUpdate sw_crypto.EVP_DecodeUpdate
#define EVP_DigestFinal_ex sw_crypto.EVP_DigestFinal_ex
#define EVP_DigestInit_ex sw_crypto.EVP_DigestInit_ex
#define EVP_DigestUpdate sw_crypto.EVP_DigestUpdate
#define EVP_ENCODE_CTX_free sw_crypto.EVP_ENCODE_CTX_free
#define EVP_ENCODE_CTX_new sw_crypto.EVP_ENCODE_CTX_new
#define EVP_MAC_CTX_dup sw_crypto.EVP_MAC_CTX_dup
#define EVP_MAC_CTX_free sw_crypto.EVP_MAC_CTX_free
#define EVP_MAC_CTX_new sw_crypto.EVP_MAC_CTX_new
#define EVP_MAC_fetch sw_crypto.EVP_MAC_fetch
#define EVP_MAC_final sw_crypto.EVP_MAC_final
#define EVP_MAC_free sw_crypto.EVP_MAC_free
#define EVP_MAC_init sw_crypto.EVP_MAC_init
#define EVP_MAC_update sw_crypto.EVP_MAC_update
#define EVP_MD_CTX_free sw_crypto.EVP_MD_CTX_free
#define EVP_MD_CTX_new sw_crypto.EVP_MD_CTX_new
#define EVP_PKEY_Q_keygen sw_crypto.EVP_PKEY_Q_keygen
#define EVP_PKEY_free sw_crypto.EVP_PKEY_free
#define EVP_sha256 sw_crypto.EVP_sha256
#define OPENSSL_cleanse sw_crypto.OPENSSL_cleanse
#define OPENSSL_sk_new_null sw_crypto.OPENSSL_sk_new_null
#define OPENSSL_sk_num sw_crypto.OPENSSL_sk_num
#define OPENSSL_sk_pop_free sw_crypto.OPENSSL_sk_pop_free
#define OPENSSL_sk_push sw_crypto.OPENSSL_sk_push
#define OPENSSL_sk_value sw_crypto.OPENSSL_sk_value
#define OSSL_PARAM_construct_end sw_crypto.OSSL_PARAM_construct_end
#define OSSL_PARAM_construct_utf8_string sw_crypto.OSSL_PARAM_construct_utf8_string
#define PEM_read_PrivateKey sw_crypto.PEM_read_PrivateKey
#define PEM_read_X509 sw_crypto.PEM_read_X509
#define PEM_read_bio_X509 sw_crypto.PEM_read_bio_X509
#define PEM_write_PrivateKey sw_crypto.PEM_write_PrivateKey
#define PEM_write_X509 sw_crypto.PEM_write_X509
#define RAND_bytes sw_crypto.RAND_bytes
#define X509V3_EXT_conf_nid sw_crypto.X509V3_EXT_conf_nid
#define X509V3_set_ctx sw_crypto.X509V3_set_ctx
#define X509_EXTENSION_free sw_crypto.X509_EXTENSION_free
#define X509_NAME_ENTRY_get_data sw_crypto.X509_NAME_ENTRY_get_data
#define X509_NAME_add_entry_by_txt sw_crypto.X509_NAME_add_entry_by_txt
#define X509_NAME_get_entry sw_crypto.X509_NAME_get_entry
#define X509_NAME_get_index_by_NID sw_crypto.X509_NAME_get_index_by_NID
#define X509_STORE_CTX_free sw_crypto.X509_STORE_CTX_free
#define X509_STORE_CTX_get0_chain sw_crypto.X509_STORE_CTX_get0_chain
#define X509_STORE_CTX_get_error sw_crypto.X509_STORE_CTX_get_error
#define X509_STORE_CTX_init sw_crypto.X509_STORE_CTX_init
#define X509_STORE_CTX_new sw_crypto.X509_STORE_CTX_new
#define X509_STORE_CTX_set_purpose sw_crypto.X509_STORE_CTX_set_purpose
#define X509_STORE_add_cert sw_crypto.X509_STORE_add_cert
#define X509_STORE_free sw_crypto.X509_STORE_free
#define X509_STORE_new sw_crypto.X509_STORE_new
#define X509_STORE_set_flags sw_crypto.X509_STORE_set_flags
#define X509_add_ext sw_crypto.X509_add_ext
#define X509_free sw_crypto.X509_free
#define X509_get0_notAfter sw_crypto.X509_get0_notAfter
#define X509_get_extended_key_usage sw_crypto.X509_get_extended_key_usage
#define X509_get_extension_flags sw_crypto.X509_get_extension_flags
#define X509_get_subject_name sw_crypto.X509_get_subject_name
#define X509_getm_notAfter sw_crypto.X509_getm_notAfter
#define X509_getm_notBefore sw_crypto.X509_getm_notBefore
#define X509_gmtime_adj sw_crypto.X509_gmtime_adj
#define X509_new sw_crypto.X509_new
#define X509_set_issuer_name sw_crypto.X509_set_issuer_name
#define X509_set_pubkey sw_crypto.X509_set_pubkey
#define X509_set_serialNumber sw_crypto.X509_set_serialNumber
#define X509_set_version sw_crypto.X509_set_version
#define X509_sign sw_crypto.X509_sign
#define X509_verify_cert sw_crypto.X509_verify_cert
#define X509_verify_cert_error_string sw_crypto.X509_verify_cert_error_string
#define d2i_X509 sw_crypto.d2i_X509
#endif

#endif
