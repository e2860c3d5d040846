/*
 * template.h — renders a metric's templated query (`<<.Namespace>>`,
 * `<<.LabelMatchers>>`) for one (namespace, selector), as prometheus-adapter
 * does. Used by the poller's subscriptions and by `scalewise query`.
 */
#ifndef SW_TEMPLATE_H
#define SW_TEMPLATE_H

#include <stddef.h>

#include "selector.h"

/*
 * Replaces every <<.Namespace>> in q with ns and every <<.LabelMatchers>>
 * with sel rendered as PromQL matchers (selector_promql; "" when sel is
 * NULL). Returns the malloc'd query (caller frees), or NULL with a message in
 * err: what selector_promql refuses (gt/lt, keys that are not Prometheus
 * label names), or "rendered query too long" past 1 MiB. Pure; any thread.
 */
char *template_render(const char *q, const char *ns, const struct selector *sel, char *err, size_t errlen);

#endif
