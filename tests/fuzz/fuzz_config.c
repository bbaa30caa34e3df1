/*
 * fuzz_config.c — the profile parser: any bytes as an INI file through
 * config_load_string.  On success the result must be consistent (what the
 * parser promises its callers); on failure the config must be empty and
 * the message must name the file.
 */
#include <config.h>

#include <string.h>

#include "conf.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "", *text;
	struct config cfg;
	static const struct config empty;

	/* config_load_string takes a C string: the first NUL ends it. */
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (config_load_string(text, "fuzz.conf", &cfg, err, sizeof err) != 0) {
		FUZZ_CHECK(memcmp(&cfg, &empty, sizeof cfg) == 0, "failed load left a config");
		FUZZ_CHECK(strncmp(err, "fuzz.conf:", 10) == 0, "message without the file: %s",
			   err);
		free(text);
		return 0;
	}
	FUZZ_CHECK(cfg.spooler.spool_dir != NULL && cfg.spooler.store != NULL &&
			   cfg.spooler.profile_name != NULL,
		   "loaded config without spool_dir, store or profile");
	FUZZ_CHECK(cfg.n_transports <= CONFIG_MAX_TRANSPORTS, "%zu transports", cfg.n_transports);
	FUZZ_CHECK(cfg.spooler.max_line_size > 0, "max_line_size 0");
	for (size_t i = 0; i < cfg.n_transports; i++) {
		const struct transport_config *t = &cfg.transports[i];

		FUZZ_CHECK(t->name[0] != '\0' && strlen(t->name) <= CONFIG_NAME_MAX,
			   "transport %zu: bad name", i);
		FUZZ_CHECK(t->n_addrtypes <= CONFIG_MAX_ADDRTYPES, "transport %s: %zu addrtypes",
			   t->name, t->n_addrtypes);
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(cfg.transports[k].name, t->name) != 0,
				   "transport %s twice", t->name);
	}
	config_free(&cfg);
	free(text);
	return 0;
}
