/* libFuzzer target: arbitrary bytes as a config file (YAML or JSON). Loading
 * must never crash, leak or hang; a config that loads must release cleanly. */
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "yamldoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	cJSON *root = yamldoc_parse((const char *)data, size, err, sizeof err);
	if (!root)
		return 0;
	struct config cfg;
	struct errlist errs;
	errlist_init(&errs);
	config_from_tree(root, NULL, &cfg, &errs);
	config_release(&cfg);
	errlist_release(&errs);
	cJSON_Delete(root);
	return 0;
}
