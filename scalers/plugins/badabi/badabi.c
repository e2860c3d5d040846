/*
 * badabi.c — a test plugin built against a "future" scaler.h: its descriptor
 * carries an ABI version this scalewise does not speak, so the loader must
 * refuse it at start-up with that reason (tests/unit/test_plugin.c,
 * tests/e2e/test_plugins.sh). Not a template: see scalers/plugins/example.
 */
#include "scaler.h"

#include <stddef.h>

static int badabi_open(void *state, const void *source_params, const struct sw_host *host, char *err, size_t errlen)
{
	return 0;
}

static int badabi_fetch(void *state, const void *source_params, const struct sw_request *req, struct sw_batch *out,
			char *err, size_t errlen)
{
	return SW_FETCH_SOURCE_ERROR;
}

static void badabi_close(void *state)
{
}

static const struct sw_scaler_type badabi_type = {
	.abi_version = SW_SCALER_ABI_VERSION + 1000,
	.struct_size = sizeof(struct sw_scaler_type),
	.name = "badabi",
	.query = SW_QUERY_NONE,
	.open = badabi_open,
	.fetch = badabi_fetch,
	.close = badabi_close,
};

const struct sw_scaler_type *sw_scaler_entry(const struct sw_host *host)
{
	return &badabi_type;
}
