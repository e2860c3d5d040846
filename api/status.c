/*
 * status.c — Status bodies.
 */
#include "status.h"

#include <string.h>

const char *status_reason(int code)
{
	switch (code) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 406: return "NotAcceptable";
	case 408: return "Timeout";
	case 413: return "RequestEntityTooLarge";
	case 414: return "RequestURITooLong";
	case 429: return "TooManyRequests";
	case 431: return "RequestHeaderFieldsTooLarge";
	case 500: return "InternalError";
	case 503: return "ServiceUnavailable";
	case 504: return "Timeout";
	default: return "";
	}
}

void status_write(struct buf *b, int code, const char *reason, const char *message, const char *details_json)
{
	buf_adds(b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\"");
	if (message && *message) {
		buf_adds(b, ",\"message\":");
		json_put_string(b, message, strlen(message));
	}
	if (reason && *reason) {
		buf_adds(b, ",\"reason\":");
		json_put_string(b, reason, strlen(reason));
	}
	if (details_json)
		buf_addf(b, ",\"details\":%s", details_json);
	buf_addf(b, ",\"code\":%d}\n", code);
}
