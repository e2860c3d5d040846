/*
 * selector.h — Kubernetes label selectors, as kubernetes/apimachinery
 * pkg/labels does them (K8S-WIRE.md §5): the lexer, labels.Parse with Go's
 * error texts, NewRequirement + Add with field paths, the canonical
 * String(), Matches, and a rendering into PromQL label matchers.
 *
 * A struct selector is an ordered list of requirements (ANDed), sorted by
 * key the way Go's sort.Sort orders them. It owns copies of all its strings.
 *
 * Thread-safety: a selector is immutable once built (parse, from_labels)
 * and may then be read from any number of threads at once. selector_add
 * changes it and needs the caller's exclusive access.
 */
#ifndef SW_SELECTOR_H
#define SW_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "labels.h"

/* More requirements than this are refused (parse, add, from_labels). */
#define SELECTOR_MAX_REQUIREMENTS 1000
/* Longer selector strings are refused (the HPA sends a few hundred bytes). */
#define SELECTOR_MAX_LEN (256u * 1024u)

/* selection.Operator */
enum selector_op {
	SEL_EQUALS,          /* "="      */
	SEL_DOUBLE_EQUALS,   /* "=="     */
	SEL_NOT_EQUALS,      /* "!="     */
	SEL_IN,              /* "in"     */
	SEL_NOT_IN,          /* "notin"  */
	SEL_EXISTS,          /* "exists" */
	SEL_DOES_NOT_EXIST,  /* "!"      */
	SEL_GT,              /* "gt"     */
	SEL_LT,              /* "lt"     */
};

/* Lexer tokens, in Go's order (labels.Token); names via selector_token_name. */
enum selector_token {
	SEL_TOK_ERROR,
	SEL_TOK_END_OF_STRING,
	SEL_TOK_CLOSED_PAR,
	SEL_TOK_COMMA,
	SEL_TOK_DOES_NOT_EXIST,
	SEL_TOK_DOUBLE_EQUALS,
	SEL_TOK_EQUALS,
	SEL_TOK_GREATER_THAN,
	SEL_TOK_IDENTIFIER,
	SEL_TOK_IN,
	SEL_TOK_LESS_THAN,
	SEL_TOK_NOT_EQUALS,
	SEL_TOK_NOT_IN,
	SEL_TOK_OPEN_PAR,
};

struct selector;

/*
 * Parses s[0..len) like labels.Parse. Any bytes are accepted as input
 * (invalid UTF-8 included); a NUL byte behaves as in Go, where the lexer
 * reads it as end of input (it ends the token it is in; at the start of a
 * token it ends the selector). The empty string gives an empty selector,
 * which selects everything.
 *
 * Returns a new selector (free with selector_free), or NULL with the
 * labels.Parse error text in err (e.g. `unable to parse requirement:
 * found 'abc', expected: ',' or ')'`), or one of our own limits:
 * `selector too long: N bytes (max 262144)`,
 * `too many requirements: N (max 1000)`, `out of memory`.
 * err is written snprintf-style and may be NULL when errlen is 0.
 * Time is O(n log n) in len.
 */
struct selector *selector_parse(const char *s, size_t len, char *err, size_t errlen);

/* A new empty selector (labels.NewSelector), or NULL when out of memory. */
struct selector *selector_new(void);

/*
 * NewRequirement(key, op, values) then Add: validates like Go and, on
 * success, inserts the requirement and re-sorts by key (Go's sort.Sort, so
 * equal keys keep Go's order). The values are copied and kept as given
 * (order and duplicates); key and values are NUL-terminated strings.
 * Returns 0, or -1 with the aggregated Go error text in err, whose field
 * paths are `key`, `values`, `values[i]` and `values[i][KEY]`, e.g.
 * `values[0]: Invalid value: "bar": for 'Gt', 'Lt' operators, the value
 * must be an integer`; several errors read `[e1, e2]`. Also -1 for more
 * than SELECTOR_MAX_REQUIREMENTS or out of memory; sel is then unchanged.
 */
int selector_add(struct selector *sel, const char *key, enum selector_op op,
		 const char *const *values, size_t nvalues, char *err, size_t errlen);

/*
 * SelectorFromSet (validate false: nothing is checked) or
 * ValidatedSelectorFromSet (validate true: every label goes through
 * NewRequirement with `=`; the first failure is reported as selector_add
 * does). labels must be sorted by name with unique names (labels.h).
 * NULL on error, on more than SELECTOR_MAX_REQUIREMENTS labels or when out
 * of memory.
 */
struct selector *selector_from_labels(const struct label *labels, size_t nlabels,
				      bool validate, char *err, size_t errlen);

/* Frees sel and everything it owns. NULL is allowed. */
void selector_free(struct selector *sel);

/*
 * The canonical String(): requirements joined by ",", each as `!k`, `k`,
 * `k=v`, `k==v`, `k!=v`, `k>n`, `k<n`, `k in (a,b)`, `k notin (a,b)` with
 * set values sorted. snprintf-style: writes at most n-1 bytes and a NUL
 * (when n > 0) and returns the full length. buf may be NULL when n is 0.
 */
size_t selector_string(const struct selector *sel, char *buf, size_t n);

/*
 * Matches: true when every requirement holds for the label set. labels
 * must be sorted by name (bytewise) with unique names; they are looked up
 * by binary search. gt/lt need the label present and parsing as a base-10
 * int64. An empty selector matches everything.
 */
bool selector_matches(const struct selector *sel, const struct label *labels, size_t nlabels);

/* Empty(): true when the selector has no requirements. */
bool selector_empty(const struct selector *sel);

/* Number of requirements. */
size_t selector_count(const struct selector *sel);

/*
 * Requirement i (< selector_count) in selector order. Outputs point into
 * sel and live as long as it does; any output pointer may be NULL. Parsed
 * selectors hold set values sorted and without duplicates; added ones as
 * they were given. exists and `!` have no values.
 */
void selector_get(const struct selector *sel, size_t i, const char **key, enum selector_op *op,
		  const char *const **values, size_t *nvalues);

/*
 * Renders the selector as comma-joined PromQL label matchers, the way
 * prometheus-adapter does: `=`/`==` → k="v", `!=` → k!="v",
 * in → k=~"a|b", notin → k!~"a|b", exists → k!="", `!k` → k="".
 * Strings are quoted like Go's %q (PromQL's string syntax); values inside
 * in/notin have regex metacharacters escaped so they match literally.
 * snprintf-style into buf with the full length in *len_out (may be NULL).
 * Returns 0, or -1 with a message in err for what PromQL cannot say:
 * gt/lt, and keys that are not Prometheus label names ([a-zA-Z_][a-zA-Z0-9_]*,
 * e.g. "app.kubernetes.io/name").
 */
int selector_promql(const struct selector *sel, char *buf, size_t n, size_t *len_out,
		    char *err, size_t errlen);

/*
 * Runs the lexer alone over s[0..len): stores the tokens before
 * EndOfString (at most max of them) in tokens and their total count in
 * *ntokens. Returns 0, or -1 when len > SELECTOR_MAX_LEN.
 */
int selector_lex(const char *s, size_t len, int *tokens, size_t max, size_t *ntokens);

/* Go's name of a token without "Token" ("Identifier", "In", "EndOfString"...). */
const char *selector_token_name(int tok);

/* selection.Operator spelling: "=", "==", "!=", "in", "notin", "exists", "!", "gt", "lt". */
const char *selector_op_name(enum selector_op op);

/* The reverse of selector_op_name. Returns 0, or -1 for an unknown name. */
int selector_op_parse(const char *name, enum selector_op *op);

#endif
