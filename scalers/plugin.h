/*
 * plugin.h — scaler plugins: shared objects loaded with dlopen that export
 * SW_SCALER_ENTRY (scalers/scaler.h), a function that receives the host's
 * function table and returns the plugin's descriptor. A plugin links against
 * nothing in the daemon; scalers/plugins/example/ is the template.
 */
#ifndef SW_PLUGIN_H
#define SW_PLUGIN_H

#include <stddef.h>

/*
 * Loads the plugin at path (relative to the working directory; the library
 * search path is never consulted), calls its entry with the host table and
 * registers the descriptor it returns (registry_add: ABI version, struct
 * size, name, ops, parameter tables, and a name no other scaler has).
 * Loading a file that is already loaded (same real path) does nothing and
 * succeeds, so a config reload may list its plugins again. A loaded plugin
 * is never unloaded: a changed plugin needs a restart.
 *
 * Returns 0, or -1 with the reason in err, without the path (the caller
 * names the file: "plugins[0]: cannot load 'x.so': <reason>"): no such file,
 * not a shared object (dlopen's message), no SW_SCALER_ENTRY symbol, an entry
 * that returned NULL, or what registry_add refused. On failure nothing stays
 * loaded or registered. Start-up and reload thread; calls are serialised.
 */
int plugin_load(const char *path, char *err, size_t errlen);

#endif
