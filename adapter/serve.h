/*
 * serve.h — `scalewise serve`: load the config, make or load the serving
 * certificate, start the HTTPS server, then turn signals into events on the
 * main thread (SIGHUP and a changed config file: reload; SIGTERM/SIGINT:
 * graceful shutdown) and do the housekeeping (certificate reload).
 */
#ifndef SW_SERVE_H
#define SW_SERVE_H

/* Runs until shutdown. Returns the process exit code (0, or 2 for a bad
 * config or flags at start, 1 for a start-up failure such as a taken port). */
int serve_main(int argc, char **argv);

#endif
