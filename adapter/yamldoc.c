/*
 * yamldoc.c — libyaml events to a cJSON tree.
 */
#include "yamldoc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 64
#define MAX_ANCHORS 256
#define MAX_NODES 1000000

struct anchor {
	char *name;
	cJSON *node;
};

struct ctx {
	yaml_parser_t parser;
	struct anchor anchors[MAX_ANCHORS];
	size_t nanchors;
	size_t nodes;
	char *err;
	size_t errlen;
};

static void set_err(struct ctx *c, const yaml_mark_t *m, const char *what)
{
	snprintf(c->err, c->errlen, "line %zu, column %zu: %s", m->line + 1, m->column + 1, what);
}

/* Plain scalar → typed JSON value, per the YAML 1.2 core schema (plus yes/no left as strings). */
static cJSON *scalar_value(const char *v, size_t len, yaml_scalar_style_t style)
{
	if (style != YAML_PLAIN_SCALAR_STYLE)
		return cJSON_CreateString(v);
	if (len == 0 || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL"))
		return cJSON_CreateNull();
	if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
		return cJSON_CreateTrue();
	if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
		return cJSON_CreateFalse();
	/* numbers: [-+]? ( digits (. digits?)? | . digits ) ([eE][-+]?digits)? */
	const char *p = v;
	if (*p == '-' || *p == '+')
		p++;
	bool digits = false;
	while (*p >= '0' && *p <= '9') {
		p++;
		digits = true;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			digits = true;
		}
	}
	if (digits && (*p == 'e' || *p == 'E')) {
		const char *q = p + 1;
		if (*q == '-' || *q == '+')
			q++;
		if (*q >= '0' && *q <= '9') {
			while (*q >= '0' && *q <= '9')
				q++;
			p = q;
		}
	}
	if (digits && !*p) {
		char *end;
		double d = strtod(v, &end);
		if (!*end)
			return cJSON_CreateNumber(d);
	}
	return cJSON_CreateString(v);
}

static cJSON *parse_node(struct ctx *c, yaml_event_t *ev, int depth);

static void remember(struct ctx *c, const yaml_char_t *anchor, cJSON *node)
{
	if (!anchor || c->nanchors >= MAX_ANCHORS)
		return;
	c->anchors[c->nanchors].name = strdup((const char *)anchor);
	c->anchors[c->nanchors].node = node;
	c->nanchors++;
}

static bool next(struct ctx *c, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&c->parser, ev)) {
		set_err(c, &c->parser.problem_mark, c->parser.problem ? c->parser.problem : "syntax error");
		return false;
	}
	return true;
}

/* Parses the node that starts with ev (already read); consumes through its end. */
static cJSON *parse_node(struct ctx *c, yaml_event_t *ev, int depth)
{
	if (depth > MAX_DEPTH) {
		set_err(c, &ev->start_mark, "nesting too deep");
		return NULL;
	}
	if (++c->nodes > MAX_NODES) {
		set_err(c, &ev->start_mark, "document too large");
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		cJSON *v = scalar_value((const char *)ev->data.scalar.value, ev->data.scalar.length,
					ev->data.scalar.style);
		if (v && strlen((const char *)ev->data.scalar.value) != ev->data.scalar.length) {
			cJSON_Delete(v);
			set_err(c, &ev->start_mark, "NUL byte in a scalar");
			return NULL;
		}
		remember(c, ev->data.scalar.anchor, v);
		return v;
	}
	case YAML_ALIAS_EVENT:
		for (size_t i = 0; i < c->nanchors; i++) {
			if (!strcmp(c->anchors[i].name, (const char *)ev->data.alias.anchor))
				return cJSON_Duplicate(c->anchors[i].node, 1);
		}
		set_err(c, &ev->start_mark, "unknown alias");
		return NULL;
	case YAML_SEQUENCE_START_EVENT: {
		cJSON *arr = cJSON_CreateArray();
		yaml_event_t e;
		for (;;) {
			if (!next(c, &e))
				goto seq_fail;
			if (e.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&e);
				break;
			}
			cJSON *item = parse_node(c, &e, depth + 1);
			yaml_event_delete(&e);
			if (!item)
				goto seq_fail;
			cJSON_AddItemToArray(arr, item);
		}
		remember(c, ev->data.sequence_start.anchor, arr);
		return arr;
seq_fail:
		cJSON_Delete(arr);
		return NULL;
	}
	case YAML_MAPPING_START_EVENT: {
		cJSON *obj = cJSON_CreateObject();
		yaml_event_t k, v;
		for (;;) {
			if (!next(c, &k))
				goto map_fail;
			if (k.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&k);
				break;
			}
			if (k.type != YAML_SCALAR_EVENT) {
				set_err(c, &k.start_mark, "mapping keys must be scalars");
				yaml_event_delete(&k);
				goto map_fail;
			}
			char *key = strdup((const char *)k.data.scalar.value);
			yaml_mark_t km = k.start_mark;
			yaml_event_delete(&k);
			if (!key)
				goto map_fail;
			if (!strcmp(key, "<<")) {
				free(key);
				set_err(c, &km, "merge keys ('<<') are not supported");
				goto map_fail;
			}
			if (cJSON_GetObjectItemCaseSensitive(obj, key)) {
				char msg[300];
				snprintf(msg, sizeof msg, "duplicate key '%.200s'", key);
				set_err(c, &km, msg);
				free(key);
				goto map_fail;
			}
			if (!next(c, &v)) {
				free(key);
				goto map_fail;
			}
			cJSON *val = parse_node(c, &v, depth + 1);
			yaml_event_delete(&v);
			if (!val) {
				free(key);
				goto map_fail;
			}
			cJSON_AddItemToObject(obj, key, val);
			free(key);
		}
		remember(c, ev->data.mapping_start.anchor, obj);
		return obj;
map_fail:
		cJSON_Delete(obj);
		return NULL;
	}
	default:
		set_err(c, &ev->start_mark, "unexpected YAML event");
		return NULL;
	}
}

cJSON *yamldoc_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen };
	yaml_event_t ev;
	cJSON *root = NULL;

	if (len > YAMLDOC_MAX_BYTES) {
		snprintf(err, errlen, "document larger than %u bytes", YAMLDOC_MAX_BYTES);
		return NULL;
	}
	if (!yaml_parser_initialize(&c.parser)) {
		snprintf(err, errlen, "cannot initialise the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_string(&c.parser, (const unsigned char *)text, len);
	/* stream start, document start */
	for (;;) {
		if (!next(&c, &ev))
			goto out;
		yaml_event_type_t t = ev.type;
		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			snprintf(err, errlen, "empty document");
			goto out;
		}
		if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		root = parse_node(&c, &ev, 0);
		yaml_event_delete(&ev);
		break;
	}
	if (!root)
		goto out;
	/* document end, then the stream must end */
	for (;;) {
		if (!next(&c, &ev)) {
			cJSON_Delete(root);
			root = NULL;
			goto out;
		}
		yaml_event_type_t t = ev.type;
		yaml_mark_t m = ev.start_mark;
		yaml_event_delete(&ev);
		if (t == YAML_STREAM_END_EVENT)
			break;
		if (t == YAML_DOCUMENT_START_EVENT) {
			set_err(&c, &m, "more than one document; give one config per file");
			cJSON_Delete(root);
			root = NULL;
			goto out;
		}
	}
out:
	for (size_t i = 0; i < c.nanchors; i++)
		free(c.anchors[i].name);
	yaml_parser_delete(&c.parser);
	return root;
}

cJSON *yamldoc_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(YAMLDOC_MAX_BYTES + 1);
	size_t n = buf ? fread(buf, 1, YAMLDOC_MAX_BYTES + 1, f) : 0;
	int rerr = ferror(f);
	fclose(f);
	if (!buf || rerr) {
		free(buf);
		snprintf(err, errlen, "cannot read '%s'", path);
		return NULL;
	}
	if (n > YAMLDOC_MAX_BYTES) {
		free(buf);
		snprintf(err, errlen, "'%s': larger than %u bytes", path, YAMLDOC_MAX_BYTES);
		return NULL;
	}
	char inner[400];
	cJSON *root = yamldoc_parse(buf, n, inner, sizeof inner);
	free(buf);
	if (!root)
		snprintf(err, errlen, "'%s': %s", path, inner);
	return root;
}
