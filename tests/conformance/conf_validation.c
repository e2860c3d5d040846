/*
 * conf_validation.c — checks api/names against Kubernetes' validation
 * vectors (kind: dns1123_label, dns1123_subdomain, dns1035_label,
 * label_key, label_value, path_segment_name; see testdata/README.md).
 */
#include "conformance.h"
#include "names.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef size_t errors_fn(const char *s, size_t n, char *buf, size_t len);

struct kind {
	const char *name;
	bool (*is_valid)(const char *s, size_t n);
	errors_fn *errors;
};

static const struct kind kinds[] = {
	{ "dns1123_label", name_is_dns1123_label, name_dns1123_label_errors },
	{ "dns1123_subdomain", name_is_dns1123_subdomain, name_dns1123_subdomain_errors },
	{ "dns1035_label", name_is_dns1035_label, name_dns1035_label_errors },
	{ "label_key", name_is_label_key, name_label_key_errors },
	{ "label_value", name_is_label_value, name_label_value_errors },
};

enum conf_result conf_validation(const cJSON *c, char *why, size_t n)
{
	const char *kind = conf_str(c, "kind");
	const char *input = conf_str(c, "input");
	const cJSON *valid = cJSON_GetObjectItemCaseSensitive(c, "valid");
	const char *contains = conf_str(c, "expect_error_contains");
	char msg[4096] = "";
	bool got;

	if (!kind || !input || !cJSON_IsBool(valid)) {
		snprintf(why, n, "case lacks 'kind', 'input' or 'valid'");
		return CONF_FAIL;
	}
	size_t len = strlen(input);
	if (strcmp(kind, "path_segment_name") == 0) {
		got = name_is_path_segment(input, len, msg, sizeof msg);
	} else {
		const struct kind *k = NULL;
		for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
			if (strcmp(kind, kinds[i].name) == 0)
				k = &kinds[i];
		if (!k) {
			snprintf(why, n, "unknown kind '%s'", kind);
			return CONF_FAIL;
		}
		got = k->is_valid(input, len);
		/* the yes/no form and the message form must agree */
		size_t mlen = k->errors(input, len, msg, sizeof msg);
		if ((mlen == 0) != got) {
			snprintf(why, n, "'%s': is_valid says %s but the message is '%s'", input,
				 got ? "valid" : "invalid", msg);
			return CONF_FAIL;
		}
	}
	if (got != cJSON_IsTrue(valid)) {
		snprintf(why, n, "'%.200s': got %s, want %s (%s)", input, got ? "valid" : "invalid",
			 got ? "invalid" : "valid", msg);
		return CONF_FAIL;
	}
	if (contains && !strstr(msg, contains)) {
		snprintf(why, n, "'%s': message '%s' does not contain '%s'", input, msg, contains);
		return CONF_FAIL;
	}
	return CONF_PASS;
}
