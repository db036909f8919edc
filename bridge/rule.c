/*
 * rule.c - a recursive-descent parser for segment rules into a small tree
 * stored in one array, and its evaluator (see rule.h). Depth is bounded
 * so a hostile rule cannot exhaust the stack.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "precis/error.h"
#include "precis/topic.h"
#include "rule.h"

#define MAX_NODES 256
#define MAX_DEPTH 32

enum kind { N_CONST, N_TAG, N_CMP, N_NOT, N_AND, N_OR };
enum op { OP_GE, OP_LE, OP_GT, OP_LT, OP_EQ, OP_NE };

struct node {
	enum kind kind;
	bool value;              /* N_CONST */
	enum br_field field;     /* N_CMP */
	enum op op;              /* N_CMP */
	double num;              /* N_CMP */
	char tag[PC_ID_MAX + 1]; /* N_TAG */
	int a, b;                /* children */
};

struct br_rule {
	int n, root;
	struct node nodes[MAX_NODES];
};

static const char *const field_names[BR_F_COUNT] = {
    "rfm.r", "rfm.f", "rfm.m", "purchases", "events", "spend", "recency_days", "items",
};

const char *br_field_name(enum br_field f)
{
	return (unsigned)f < BR_F_COUNT ? field_names[f] : "?";
}

struct parser {
	const char *s, *p;
	struct br_rule *r;
	int depth;
	char *err;
	size_t errlen;
};

static void skip(struct parser *ps)
{
	while (isspace((unsigned char)*ps->p))
		ps->p++;
}

static int fail(struct parser *ps, const char *what)
{
	pc_errf(ps->err, ps->errlen, PC_ERR_INVAL, "at %d: %s", (int)(ps->p - ps->s) + 1, what);
	return -1;
}

static int new_node(struct parser *ps, enum kind k)
{
	if (ps->r->n == MAX_NODES)
		return fail(ps, "rule too long");
	memset(&ps->r->nodes[ps->r->n], 0, sizeof ps->r->nodes[0]);
	ps->r->nodes[ps->r->n].kind = k;
	return ps->r->n++;
}

static bool eat(struct parser *ps, const char *tok)
{
	size_t n = strlen(tok);

	skip(ps);
	if (strncmp(ps->p, tok, n) != 0)
		return false;
	ps->p += n;
	return true;
}

static int parse_or(struct parser *ps);

static int parse_term(struct parser *ps)
{
	size_t n, f;
	int at;

	skip(ps);
	if (strncmp(ps->p, "tag:", 4) == 0) {
		ps->p += 4;
		for (n = 0;
		     ps->p[n] && (isalnum((unsigned char)ps->p[n]) || strchr("._:-", ps->p[n]));
		     n++)
			;
		if (n == 0 || n > PC_ID_MAX)
			return fail(ps, "expected a tag (1-64 of [A-Za-z0-9._:-]) after 'tag:'");
		if ((at = new_node(ps, N_TAG)) < 0)
			return -1;
		memcpy(ps->r->nodes[at].tag, ps->p, n);
		ps->r->nodes[at].tag[n] = '\0';
		ps->p += n;
		return at;
	}
	for (n = 0;
	     ps->p[n] && (isalnum((unsigned char)ps->p[n]) || ps->p[n] == '.' || ps->p[n] == '_');
	     n++)
		;
	if (n == 4 && strncmp(ps->p, "true", 4) == 0) {
		ps->p += 4;
		if ((at = new_node(ps, N_CONST)) >= 0)
			ps->r->nodes[at].value = true;
		return at;
	}
	if (n == 5 && strncmp(ps->p, "false", 5) == 0) {
		ps->p += 5;
		return new_node(ps, N_CONST);
	}
	for (f = 0; f < BR_F_COUNT; f++)
		if (strlen(field_names[f]) == n && strncmp(ps->p, field_names[f], n) == 0)
			break;
	if (f == BR_F_COUNT)
		return fail(ps, "expected tag:<id>, true, false or a field (rfm.r rfm.f rfm.m "
		                "purchases events spend recency_days items)");
	ps->p += n;
	if ((at = new_node(ps, N_CMP)) < 0)
		return -1;
	ps->r->nodes[at].field = (enum br_field)f;
	if (eat(ps, ">="))
		ps->r->nodes[at].op = OP_GE;
	else if (eat(ps, "<="))
		ps->r->nodes[at].op = OP_LE;
	else if (eat(ps, "=="))
		ps->r->nodes[at].op = OP_EQ;
	else if (eat(ps, "!="))
		ps->r->nodes[at].op = OP_NE;
	else if (eat(ps, ">"))
		ps->r->nodes[at].op = OP_GT;
	else if (eat(ps, "<"))
		ps->r->nodes[at].op = OP_LT;
	else
		return fail(ps, "expected a comparison (>= <= > < == !=)");
	skip(ps);
	{
		char num[48];
		for (n = 0; n < sizeof num - 1 && ps->p[n] &&
		            (isdigit((unsigned char)ps->p[n]) || strchr("+-.eE", ps->p[n]));
		     n++)
			num[n] = ps->p[n];
		num[n] = '\0';
		if (n == 0 || br_parse_double(num, &ps->r->nodes[at].num) != PC_OK)
			return fail(ps, "expected a number");
		ps->p += n;
	}
	return at;
}

static int parse_unary(struct parser *ps)
{
	int at, a;

	if (++ps->depth > MAX_DEPTH)
		return fail(ps, "rule nested too deeply");
	if (eat(ps, "!")) {
		if ((a = parse_unary(ps)) < 0 || (at = new_node(ps, N_NOT)) < 0)
			return -1;
		ps->r->nodes[at].a = a;
	} else if (eat(ps, "(")) {
		if ((at = parse_or(ps)) < 0)
			return -1;
		if (!eat(ps, ")"))
			return fail(ps, "expected ')'");
	} else {
		at = parse_term(ps);
	}
	ps->depth--;
	return at;
}

static int parse_binary(struct parser *ps, bool is_or)
{
	int a = is_or ? parse_binary(ps, false) : parse_unary(ps), b, at;

	while (a >= 0 && eat(ps, is_or ? "||" : "&&")) {
		if ((b = is_or ? parse_binary(ps, false) : parse_unary(ps)) < 0)
			return -1;
		if ((at = new_node(ps, is_or ? N_OR : N_AND)) < 0)
			return -1;
		ps->r->nodes[at].a = a;
		ps->r->nodes[at].b = b;
		a = at;
	}
	return a;
}

static int parse_or(struct parser *ps)
{
	return parse_binary(ps, true);
}

int br_rule_parse(const char *text, struct br_rule **out, char *err, size_t errlen)
{
	struct parser ps = {text, text, NULL, 0, err, errlen};

	*out = NULL;
	if (!text)
		return pc_errf(err, errlen, PC_ERR_INVAL, "empty rule");
	ps.r = calloc(1, sizeof *ps.r);
	if (!ps.r)
		return PC_ERR_NOMEM;
	skip(&ps);
	if (!*ps.p) {
		free(ps.r);
		return pc_errf(err, errlen, PC_ERR_INVAL, "empty rule");
	}
	ps.r->root = parse_or(&ps);
	if (ps.r->root >= 0) {
		skip(&ps);
		if (*ps.p)
			ps.r->root = fail(&ps, "expected '&&', '||' or the end of the rule");
	}
	if (ps.r->root < 0) {
		free(ps.r);
		return PC_ERR_INVAL;
	}
	*out = ps.r;
	return PC_OK;
}

void br_rule_free(struct br_rule *r)
{
	free(r);
}

static bool eval_node(const struct br_rule *r, int at, const struct br_rule_input *in)
{
	const struct node *n = &r->nodes[at];
	double v;

	switch (n->kind) {
	case N_CONST:
		return n->value;
	case N_TAG:
		return in->has_tag && in->has_tag(in->arg, n->tag);
	case N_NOT:
		return !eval_node(r, n->a, in);
	case N_AND:
		return eval_node(r, n->a, in) && eval_node(r, n->b, in);
	case N_OR:
		return eval_node(r, n->a, in) || eval_node(r, n->b, in);
	case N_CMP:
		v = in->field[n->field];
		switch (n->op) {
		case OP_GE:
			return v >= n->num;
		case OP_LE:
			return v <= n->num;
		case OP_GT:
			return v > n->num;
		case OP_LT:
			return v < n->num;
		case OP_EQ:
			return v == n->num;
		case OP_NE:
			return v != n->num;
		}
	}
	return false;
}

bool br_rule_eval(const struct br_rule *r, const struct br_rule_input *in)
{
	return r && eval_node(r, r->root, in);
}
