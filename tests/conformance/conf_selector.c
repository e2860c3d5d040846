/* Placeholder until the selector checker lands: every case is reported as failing. */
#include "conformance.h"
#include <stdio.h>

enum conf_result conf_selector(const cJSON *c, char *why, size_t n)
{
	(void)c;
	snprintf(why, n, "the selector checker is not built yet");
	return CONF_FAIL;
}
