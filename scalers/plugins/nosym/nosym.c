/*
 * nosym.c — a test plugin: a valid shared object that does not export
 * SW_SCALER_ENTRY, so the loader must refuse it ("no 'sw_scaler_entry'
 * symbol"). Used by tests/unit/test_plugin.c. Not a template.
 */
#include "scaler.h"

const struct sw_scaler_type *not_the_entry(const struct sw_host *host);

const struct sw_scaler_type *not_the_entry(const struct sw_host *host)
{
	return NULL;
}
