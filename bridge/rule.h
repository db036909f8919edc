/*
 * rule.h - segment membership rules, parsed once, evaluated per portrait.
 *
 * A rule is a boolean expression over a user's portrait (profile.h):
 *
 *   rule   := or
 *   or     := and { "||" and }
 *   and    := unary { "&&" unary }
 *   unary  := "!" unary | "(" rule ")" | term
 *   term   := "tag:" id | field op number | "true" | "false"
 *   field  := rfm.r | rfm.f | rfm.m | purchases | events | spend | recency_days | items
 *   op     := ">=" | "<=" | ">" | "<" | "==" | "!="
 *
 * e.g. `rfm.r >= 4 && tag:electronics`, `!(purchases > 0) && events >= 20`.
 * Parsing is strict: a syntax error names the position and what was
 * expected. Pure: no I/O.
 */
#ifndef BRIDGE_RULE_H
#define BRIDGE_RULE_H

#include <stdbool.h>
#include <stddef.h>

enum br_field {
	BR_F_RFM_R = 0,
	BR_F_RFM_F,
	BR_F_RFM_M,
	BR_F_PURCHASES,
	BR_F_EVENTS,
	BR_F_SPEND,
	BR_F_RECENCY_DAYS,
	BR_F_ITEMS,
	BR_F_COUNT,
};

/* What a rule is evaluated against. */
struct br_rule_input {
	double field[BR_F_COUNT];
	bool (*has_tag)(void *arg, const char *tag); /* NULL: no tags */
	void *arg;
};

struct br_rule;

/*
 * br_rule_parse - compile text into *out. Returns PC_OK, PC_ERR_INVAL with
 * detail ("at 12: expected a number"), or PC_ERR_NOMEM. *out is NULL on
 * failure. Free with br_rule_free.
 */
int br_rule_parse(const char *text, struct br_rule **out, char *err, size_t errlen);

/* br_rule_free - NULL is allowed. */
void br_rule_free(struct br_rule *r);

/* br_rule_eval - whether in satisfies r. */
bool br_rule_eval(const struct br_rule *r, const struct br_rule_input *in);

/* br_field_name - "rfm.r", ... ; "?" for anything else. */
const char *br_field_name(enum br_field f);

#endif
