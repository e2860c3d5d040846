/*
 * build/conformance FILE... — runs Kubernetes test-vector files against our
 * code. The family of each file is told by its "source" (the Go package the
 * cases came from) or, failing that, by its cases' kind/op. Prints one line
 * per failing (and skipped) case and a closing "N passed, N failed, N skipped";
 * exits 1 when any case failed or a file could not be read.
 */
#include "conformance.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int conf_int64(const cJSON *item, long long *out)
{
	if (cJSON_IsString(item)) {
		const char *s = item->valuestring;
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (errno || end == s || *end)
			return -1;
		*out = v;
		return 0;
	}
	if (cJSON_IsNumber(item)) {
		double d = item->valuedouble;
		if (d != d || d < -9.2e18 || d > 9.2e18 || (double)(long long)d != d)
			return -1;
		*out = (long long)d;
		return 0;
	}
	return -1;
}

const char *conf_str(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf)
			break;
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
		if (n + 1 == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf)
		buf[n] = 0;
	*len = n;
	return buf;
}

static const char *const hpa_kinds[] = {
	"external_value", "external_average_value", "legacy_normalize", "legacy_stabilize",
	"stabilize", "behavior_rate", "scale_up_limit", "scale_down_limit",
	"store_scale_event", "reconcile", NULL,
};

static int in_list(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (!strcmp(s, *list))
			return 1;
	return 0;
}

/* Picks the checker for a whole file. */
static conf_check_fn *family_of(const cJSON *root)
{
	const char *src = conf_str(root, "source");
	const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
	const cJSON *first = cJSON_IsArray(cases) ? cases->child : NULL;
	const char *kind = first ? conf_str(first, "kind") : NULL;
	const char *test = first ? conf_str(first, "test") : NULL;

	if (cJSON_GetObjectItemCaseSensitive(root, "format_version") || in_list(kind, hpa_kinds))
		return conf_hpa;
	if (kind)
		return conf_validation;
	if (src && strstr(src, "pkg/api/resource"))
		return conf_quantity;
	if (src && strstr(src, "pkg/labels"))
		return conf_selector;
	if (test && strstr(test, "Quantity"))
		return conf_quantity;
	return conf_selector;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, skipped = 0, broken = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: conformance FILE...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		size_t len;
		char *text = read_file(argv[i], &len);
		if (!text) {
			fprintf(stderr, "cannot read '%s': %s\n", argv[i], strerror(errno));
			broken++;
			continue;
		}
		cJSON *root = cJSON_ParseWithLength(text, len);
		free(text);
		const cJSON *cases = root ? cJSON_GetObjectItemCaseSensitive(root, "cases") : NULL;
		if (!cJSON_IsArray(cases)) {
			fprintf(stderr, "'%s': not a vector file (no \"cases\" array)\n", argv[i]);
			cJSON_Delete(root);
			broken++;
			continue;
		}
		conf_check_fn *check = family_of(root);
		int fp = 0, ff = 0, fs = 0;
		const cJSON *c;
		cJSON_ArrayForEach(c, cases) {
			char why[512] = "";
			const char *id = conf_str(c, "id");
			if (!id)
				id = conf_str(c, "name");
			switch (check(c, why, sizeof why)) {
			case CONF_PASS:
				fp++;
				break;
			case CONF_FAIL:
				ff++;
				printf("FAIL %s %s: %s\n", argv[i], id ? id : "?", why);
				break;
			case CONF_SKIP:
				fs++;
				printf("SKIP %s %s: %s\n", argv[i], id ? id : "?", why);
				break;
			}
		}
		printf("%s: %d passed, %d failed, %d skipped\n", argv[i], fp, ff, fs);
		if (fp + ff + fs == 0) { /* a file with nothing to check proves nothing */
			fprintf(stderr, "'%s': no cases\n", argv[i]);
			broken++;
		}
		passed += fp;
		failed += ff;
		skipped += fs;
		cJSON_Delete(root);
	}
	printf("conformance: %d passed, %d failed, %d skipped\n", passed, failed + broken, skipped);
	return failed || broken ? 1 : 0;
}
