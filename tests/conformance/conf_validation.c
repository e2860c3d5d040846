/* Placeholder until the validation checker lands: every case is reported as failing. */
#include "conformance.h"
#include <stdio.h>

enum conf_result conf_validation(const cJSON *c, char *why, size_t n)
{
	(void)c;
	snprintf(why, n, "the validation checker is not built yet");
	return CONF_FAIL;
}
