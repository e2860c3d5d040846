/*
 * template.c — rendering of templated queries.
 */
#include "template.h"

#include "jsonw.h"

#include <stdio.h>
#include <string.h>

char *template_render(const char *q, const char *ns, const struct selector *sel, char *err, size_t errlen)
{
	char matchers[16384] = "";
	size_t mlen = 0;
	if (sel && selector_promql(sel, matchers, sizeof matchers, &mlen, err, errlen))
		return NULL;
	struct buf b;
	buf_init(&b, 1 << 20);
	const char *p = q;
	while (*p) {
		if (!strncmp(p, "<<.Namespace>>", 14)) {
			buf_adds(&b, ns);
			p += 14;
		} else if (!strncmp(p, "<<.LabelMatchers>>", 18)) {
			buf_add(&b, matchers, mlen);
			p += 18;
		} else {
			buf_addc(&b, *p++);
		}
	}
	if (b.failed) {
		buf_release(&b);
		snprintf(err, errlen, "rendered query too long");
		return NULL;
	}
	return buf_detach(&b, NULL);
}
