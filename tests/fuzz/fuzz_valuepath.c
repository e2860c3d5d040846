/* libFuzzer target: a value path and a JSON answer, as the JSON-over-HTTP
 * scalers read them. The first line of the input is the path
 * (scalers/valuepath.h), the rest the body (scalers/jsonhttp.h). Compiling,
 * parsing and reading must never crash, leak or hang, and every failure
 * must leave a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonhttp.h"
#include "valuepath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	size_t plen = nl ? (size_t)(nl - text) : size;
	char *path = malloc(plen + 1);
	if (!path)
		return 0;
	memcpy(path, text, plen);
	path[plen] = 0;
	const char *body = nl ? nl + 1 : "";
	size_t blen = nl ? size - plen - 1 : 0;

	char err[1024] = "";
	struct valuepath vp;
	int have_path = valuepath_compile(&vp, path, err, sizeof err) == 0;
	if (!have_path && !err[0])
		abort();
	cJSON *root = NULL;
	err[0] = 0;
	int rc = jsonhttp_parse(body, blen, 200, &root, err, sizeof err);
	if (rc && (!err[0] || root))
		abort();
	if (have_path && root) {
		double v;
		err[0] = 0;
		if (valuepath_number(&vp, root, &v, err, sizeof err) && !err[0])
			abort();
	}
	cJSON_Delete(root);
	if (have_path)
		valuepath_release(&vp);
	free(path);
	return 0;
}
