/*
 * ere.c — POSIX extended regular expressions, match only (see ere.h).
 *
 * Three steps.  A recursive-descent parser turns the pattern into a tree
 * (one node per atom, operator or repetition; never more than four per
 * pattern byte).  The program's size is computed on the tree, repetitions
 * counted as the copies they expand to, and refused past ERE_MAX_PROGRAM
 * before anything is expanded.  Then the tree is emitted as a Thompson
 * program (BYTE, SET, BOL, EOL, SPLIT, JMP, MATCH) and run as a Pike VM:
 * every thread advances in lock step over the text, a program counter is
 * in a step's list at most once, and the first MATCH ends the search.
 */
#include <config.h>

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ere.h"

enum node_kind { N_EMPTY, N_BYTE, N_SET, N_BOL, N_EOL, N_CAT, N_ALT, N_REPEAT };

#define REPEAT_INF UINT_MAX

struct node {
	enum node_kind kind;
	int a, b;		/* CAT and ALT: both children; REPEAT: a */
	unsigned min, max;	/* REPEAT; max is REPEAT_INF when unbounded */
	unsigned arg;		/* BYTE: the byte; SET: its index in sets */
	uint32_t size;		/* instructions it expands to (program_size) */
};

typedef uint8_t byteset[32];

struct parser {
	const char *s;		/* the next byte to read */
	struct node *nodes;
	size_t nnodes, capnodes;
	byteset *sets;		/* sets[0] is every byte: "." */
	size_t nsets, capsets;
	enum ere_status status;
	char *err;
	size_t errlen;
};

enum op { OP_BYTE, OP_SET, OP_BOL, OP_EOL, OP_SPLIT, OP_JMP, OP_MATCH };

struct insn {
	uint8_t op;
	uint8_t byte;		/* OP_BYTE */
	uint16_t set;		/* OP_SET */
	uint32_t x, y;		/* OP_JMP: x; OP_SPLIT: x and y */
};

#define NO_PC UINT32_MAX

struct ere {
	struct insn *prog;
	uint32_t n;
	byteset *sets;
	/* Pike VM scratch: the generation that last listed each pc, two
	 * thread lists and the closure's stack (a SPLIT pushes two). */
	uint32_t *mark, *clist, *nlist, *stack;
	uint32_t gen;
};

static int fail(struct parser *p, enum ere_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, enum ere_status st, const char *fmt, ...)
{
	va_list ap;

	if (p->status == ERE_OK) {
		p->status = st;
		if (p->errlen > 0) {
			va_start(ap, fmt);
			vsnprintf(p->err, p->errlen, fmt, ap);
			va_end(ap);
		}
	}
	return -1;
}

static int new_node(struct parser *p, enum node_kind kind, int a, int b)
{
	struct node *n;

	/* capnodes bounds what any pattern of this length can need */
	if (p->nnodes == p->capnodes)
		return fail(p, ERE_ETOOBIG, "pattern too long");
	n = &p->nodes[p->nnodes];
	memset(n, 0, sizeof *n);
	n->kind = kind;
	n->a = a;
	n->b = b;
	return (int)p->nnodes++;
}

static void set_add(byteset set, unsigned lo, unsigned hi)
{
	for (; lo <= hi; lo++)
		set[lo >> 3] |= (uint8_t)(1u << (lo & 7));
}

static bool set_has(const byteset set, unsigned char c)
{
	return set[c >> 3] & (1u << (c & 7));
}

/* The POSIX classes as the C locale defines them, whatever the process's
 * locale: a pattern means the same in the daemon and in a client. */
static bool class_add(byteset set, const char *name, size_t len)
{
	static const struct {
		const char *name;
		int (*is)(int);
	} classes[] = {
		{ "alpha", isalpha }, { "digit", isdigit }, { "alnum", isalnum },
		{ "upper", isupper }, { "lower", islower }, { "space", isspace },
		{ "blank", isblank }, { "punct", ispunct }, { "print", isprint },
		{ "graph", isgraph }, { "cntrl", iscntrl }, { "xdigit", isxdigit },
	};
	size_t i;
	unsigned c;

	for (i = 0; i < sizeof classes / sizeof classes[0]; i++) {
		if (strlen(classes[i].name) != len || memcmp(classes[i].name, name, len) != 0)
			continue;
		/* the ASCII half; the C locale classifies no byte above it */
		for (c = 0; c < 0x80; c++)
			if (classes[i].is((int)c))
				set_add(set, c, c);
		return true;
	}
	return false;
}

/* One element of a bracket expression at *s that may end a range: a byte,
 * or a one-byte collating symbol "[.c.]" or equivalence class "[=c=]" (the
 * C locale has no longer ones).  -1 after fail(). */
static int bracket_elem(struct parser *p, const char **s)
{
	const char *q = *s;
	char delim;

	if (q[0] == '[' && (q[1] == '.' || q[1] == '=')) {
		delim = q[1];
		if (q[2] == '\0' || q[3] != delim || q[4] != ']')
			return fail(p, ERE_ESYNTAX, "[%c and %c] must hold one character", delim,
				    delim);
		*s = q + 5;
		return (unsigned char)q[2];
	}
	*s = q + 1;
	return (unsigned char)q[0];
}

static int parse_bracket(struct parser *p)
{
	const char *s = p->s + 1, *e;
	bool negate = false, first = true;
	unsigned char *set;
	int lo, hi, n;
	size_t i;

	if (p->nsets == p->capsets)
		return fail(p, ERE_ETOOBIG, "pattern too long");
	set = p->sets[p->nsets];
	memset(set, 0, sizeof(byteset));
	if (*s == '^') {
		negate = true;
		s++;
	}
	for (;;) {
		if (*s == '\0')
			return fail(p, ERE_ESYNTAX, "unmatched [");
		if (*s == ']' && !first)
			break;
		first = false;
		if (s[0] == '[' && s[1] == ':') {
			for (e = s + 2; *e && !(e[0] == ':' && e[1] == ']'); e++)
				continue;
			if (*e == '\0')
				return fail(p, ERE_ESYNTAX, "unterminated [: in a bracket expression");
			if (!class_add(set, s + 2, (size_t)(e - s - 2)))
				return fail(p, ERE_ESYNTAX, "unknown character class [:%.*s:]",
					    (int)(e - s - 2 > 16 ? 16 : e - s - 2), s + 2);
			s = e + 2;
			if (s[0] == '-' && s[1] != ']')
				return fail(p, ERE_ESYNTAX, "a range cannot start at a class");
			continue;
		}
		if ((lo = bracket_elem(p, &s)) < 0)
			return -1;
		hi = lo;
		if (s[0] == '-' && s[1] != ']' && s[1] != '\0') {
			s++;
			if (s[0] == '[' && s[1] == ':')
				return fail(p, ERE_ESYNTAX, "a range cannot end at a class");
			if ((hi = bracket_elem(p, &s)) < 0)
				return -1;
			if (hi < lo)
				return fail(p, ERE_ESYNTAX, "range from \\x%02x down to \\x%02x", lo, hi);
			/* "[a-c-e]": glibc refuses a range that starts where one ended */
			if (s[0] == '-' && s[1] != ']')
				return fail(p, ERE_ESYNTAX, "a range cannot follow a range");
		}
		set_add(set, (unsigned)lo, (unsigned)hi);
	}
	if (negate)
		for (i = 0; i < sizeof(byteset); i++)
			set[i] = (uint8_t)~set[i];
	p->s = s + 1;
	if ((n = new_node(p, N_SET, -1, -1)) >= 0)
		p->nodes[n].arg = (unsigned)p->nsets++;
	return n;
}

/* "{n}", "{n,}", "{n,m}" or "{,m}" after p->s's "{". */
static int parse_interval(struct parser *p, unsigned *min, unsigned *max)
{
	unsigned v[2] = { 0, 0 };
	int i = 0, digits[2] = { 0, 0 };
	char c;

	for (p->s++;; p->s++) {
		c = *p->s;
		if (c >= '0' && c <= '9') {
			if (v[i] <= ERE_DUP_MAX)	/* saturate past it */
				v[i] = v[i] * 10 + (unsigned)(c - '0');
			digits[i]++;
		} else if (c == ',' && i == 0) {
			i = 1;
		} else if (c == '}' && digits[0] + digits[1] > 0) {
			p->s++;
			break;
		} else {
			return fail(p, ERE_ESYNTAX,
				    "a { after an atom must be an interval: {n}, {n,}, {n,m} or {,m}");
		}
	}
	*min = v[0];
	*max = i == 0 ? v[0] : digits[1] ? v[1] : REPEAT_INF;
	if (*min > ERE_DUP_MAX || (*max != REPEAT_INF && *max > ERE_DUP_MAX))
		return fail(p, ERE_ETOOBIG, "interval bound above %d", ERE_DUP_MAX);
	if (*max != REPEAT_INF && *min > *max)
		return fail(p, ERE_ESYNTAX, "interval {%u,%u} runs backwards", *min, *max);
	return 0;
}

static int parse_alt(struct parser *p, int depth);

static int parse_atom(struct parser *p, int depth)
{
	unsigned char c = (unsigned char)*p->s, e;
	int n;

	switch (c) {
	case '(':
		if (depth >= ERE_MAX_DEPTH)
			return fail(p, ERE_ETOOBIG, "groups nested deeper than %d", ERE_MAX_DEPTH);
		p->s++;
		if ((n = parse_alt(p, depth + 1)) < 0)
			return -1;
		if (*p->s != ')')
			return fail(p, ERE_ESYNTAX, "unmatched (");
		p->s++;
		return n;
	case '*':
	case '+':
	case '?':
	case '{':
		return fail(p, ERE_ESYNTAX, "%c with nothing before it to repeat", c);
	case '[':
		return parse_bracket(p);
	case '.':
		p->s++;
		return new_node(p, N_SET, -1, -1);	/* arg 0: every byte */
	case '^':
	case '$':
		p->s++;
		return new_node(p, c == '^' ? N_BOL : N_EOL, -1, -1);
	case '\\':
		e = (unsigned char)p->s[1];
		if (e == '\0')
			return fail(p, ERE_ESYNTAX, "the pattern ends in a backslash");
		if (e >= 0x80 || !ispunct(e) || strchr("<>`'", e))
			return fail(p, ERE_ESYNTAX,
				    "a backslash escapes only punctuation other than < > ` ' "
				    "(POSIX: no \\b, \\w, \\1 or \\<)");
		p->s += 2;
		c = e;
		break;
	default:
		p->s++;
		break;
	}
	if ((n = new_node(p, N_BYTE, -1, -1)) >= 0)
		p->nodes[n].arg = c;
	return n;
}

static int parse_piece(struct parser *p, int depth)
{
	const char *start = p->s;
	unsigned min = 0, max = 0;
	int atom = parse_atom(p, depth), n;
	char c;

	while (atom >= 0 && (c = *p->s) != '\0' && strchr("*+?{", c)) {
		/* as glibc: "^*" is an error, "(^)*" is not */
		if (*start == '^' || *start == '$')
			return fail(p, ERE_ESYNTAX, "an anchor cannot be repeated");
		if (c == '{') {
			if (parse_interval(p, &min, &max) < 0)
				return -1;
		} else {
			p->s++;
			min = c == '+';
			max = c == '?' ? 1 : REPEAT_INF;
		}
		if ((n = new_node(p, N_REPEAT, atom, -1)) < 0)
			return -1;
		p->nodes[n].min = min;
		p->nodes[n].max = max;
		atom = n;
	}
	return atom;
}

static int parse_branch(struct parser *p, int depth)
{
	int cat = new_node(p, N_EMPTY, -1, -1), piece;

	/* a ")" with no "(" open is itself (POSIX) */
	while (cat >= 0 && *p->s && *p->s != '|' && (*p->s != ')' || depth == 0)) {
		if ((piece = parse_piece(p, depth)) < 0)
			return -1;
		cat = p->nodes[cat].kind == N_EMPTY ? piece : new_node(p, N_CAT, cat, piece);
	}
	return cat;
}

static int parse_alt(struct parser *p, int depth)
{
	int left = parse_branch(p, depth), right;

	while (left >= 0 && *p->s == '|') {
		p->s++;
		if ((right = parse_branch(p, depth)) < 0)
			return -1;
		left = new_node(p, N_ALT, left, right);
	}
	return left;
}

/* The instructions node n expands to, saturating past the limit; kept in
 * the node for emit_node. */
static uint64_t program_size(struct parser *p, int n)
{
	const uint64_t cap = ERE_MAX_PROGRAM + 1;
	struct node *nd = &p->nodes[n];
	uint64_t a, size;

	switch (nd->kind) {
	case N_EMPTY:
		size = 0;
		break;
	case N_BYTE:
	case N_SET:
	case N_BOL:
	case N_EOL:
		size = 1;
		break;
	case N_CAT:
		size = program_size(p, nd->a) + program_size(p, nd->b);
		break;
	case N_ALT:
		size = program_size(p, nd->a) + program_size(p, nd->b) + 2;
		break;
	case N_REPEAT:
	default:
		/* a <= cap and min, max <= ERE_DUP_MAX: no overflow */
		a = program_size(p, nd->a);
		size = nd->min * a;
		size += nd->max == REPEAT_INF ? a + 2 : (uint64_t)(nd->max - nd->min) * (a + 1);
		break;
	}
	nd->size = (uint32_t)(size < cap ? size : cap);
	return nd->size;
}

static uint32_t emit(struct ere *re, struct insn in)
{
	re->prog[re->n] = in;
	return re->n++;
}

static void emit_node(struct ere *re, const struct parser *p, int n)
{
	const struct node *nd = &p->nodes[n];
	uint32_t split, jmp, chain, next;
	unsigned i;

	/* Nothing to emit, however many copies: "((){32767}){32767}" would
	 * otherwise be 10^9 visits for no instruction. */
	if (nd->size == 0)
		return;
	switch (nd->kind) {
	case N_EMPTY:
		break;
	case N_BYTE:
		emit(re, (struct insn){ .op = OP_BYTE, .byte = (uint8_t)nd->arg });
		break;
	case N_SET:
		emit(re, (struct insn){ .op = OP_SET, .set = (uint16_t)nd->arg });
		break;
	case N_BOL:
		emit(re, (struct insn){ .op = OP_BOL });
		break;
	case N_EOL:
		emit(re, (struct insn){ .op = OP_EOL });
		break;
	case N_CAT:
		emit_node(re, p, nd->a);
		emit_node(re, p, nd->b);
		break;
	case N_ALT:
		split = emit(re, (struct insn){ .op = OP_SPLIT });
		re->prog[split].x = re->n;
		emit_node(re, p, nd->a);
		jmp = emit(re, (struct insn){ .op = OP_JMP });
		re->prog[split].y = re->n;
		emit_node(re, p, nd->b);
		re->prog[jmp].x = re->n;
		break;
	case N_REPEAT:
		for (i = 0; i < nd->min; i++)
			emit_node(re, p, nd->a);
		if (nd->max == REPEAT_INF) {
			split = emit(re, (struct insn){ .op = OP_SPLIT });
			re->prog[split].x = re->n;
			emit_node(re, p, nd->a);
			emit(re, (struct insn){ .op = OP_JMP, .x = split });
			re->prog[split].y = re->n;
			break;
		}
		/* x{0,3} is (x(x(x)?)?)?: each SPLIT either goes on or leaves
		 * for the end; the SPLITs are chained through y until it is known */
		chain = NO_PC;
		for (i = nd->min; i < nd->max; i++) {
			split = emit(re, (struct insn){ .op = OP_SPLIT, .y = chain });
			re->prog[split].x = re->n;
			chain = split;
			emit_node(re, p, nd->a);
		}
		for (; chain != NO_PC; chain = next) {
			next = re->prog[chain].y;
			re->prog[chain].y = re->n;
		}
		break;
	}
}

enum ere_status ere_compile(const char *pattern, struct ere **out, char *err, size_t errlen)
{
	struct parser p = { .s = pattern, .err = err, .errlen = errlen };
	size_t len = strlen(pattern), brackets = 0, i;
	struct ere *re = NULL;
	uint64_t size;
	int root;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (len > ERE_MAX_PATTERN) {
		fail(&p, ERE_ETOOBIG, "longer than %d bytes", ERE_MAX_PATTERN);
		return p.status;
	}
	for (i = 0; i < len; i++)
		brackets += pattern[i] == '[';
	/* an atom, its repetitions and the CAT joining them: at most four
	 * nodes per byte, and an empty branch per "|" or "(" */
	p.capnodes = 4 * len + 2;
	p.capsets = brackets + 1;
	p.nodes = calloc(p.capnodes, sizeof *p.nodes);
	p.sets = calloc(p.capsets, sizeof *p.sets);
	if (!p.nodes || !p.sets) {
		fail(&p, ERE_ENOMEM, "out of memory");
		goto done;
	}
	memset(p.sets[0], 0xFF, sizeof(byteset));
	p.nsets = 1;
	if ((root = parse_alt(&p, 0)) < 0)
		goto done;
	size = program_size(&p, root) + 1;	/* and MATCH */
	if (size > ERE_MAX_PROGRAM) {
		fail(&p, ERE_ETOOBIG, "repetitions expand past %d instructions",
		     ERE_MAX_PROGRAM);
		goto done;
	}
	if (!(re = calloc(1, sizeof *re)) ||
	    !(re->prog = calloc(size, sizeof *re->prog)) ||
	    !(re->sets = malloc(p.nsets * sizeof *re->sets)) ||
	    !(re->mark = calloc(size, sizeof *re->mark)) ||
	    !(re->clist = malloc(size * sizeof *re->clist)) ||
	    !(re->nlist = malloc(size * sizeof *re->nlist)) ||
	    !(re->stack = malloc((2 * size + 1) * sizeof *re->stack))) {
		fail(&p, ERE_ENOMEM, "out of memory");
		goto done;
	}
	memcpy(re->sets, p.sets, p.nsets * sizeof *re->sets);
	emit_node(re, &p, root);
	emit(re, (struct insn){ .op = OP_MATCH });
	*out = re;
	re = NULL;
done:
	ere_free(re);
	free(p.nodes);
	free(p.sets);
	return p.status;
}

/* Add pc's closure at text position pos to list: follow JMP, SPLIT and
 * the anchors that hold here, keep the instructions that read a byte.
 * True when it reaches MATCH. */
static bool closure(struct ere *re, uint32_t pc, size_t pos, size_t len, uint32_t *list,
		    uint32_t *n)
{
	uint32_t top = 0;
	const struct insn *in;

	re->stack[top++] = pc;
	while (top > 0) {
		pc = re->stack[--top];
		if (re->mark[pc] == re->gen)
			continue;
		re->mark[pc] = re->gen;
		in = &re->prog[pc];
		switch (in->op) {
		case OP_MATCH:
			return true;
		case OP_JMP:
			re->stack[top++] = in->x;
			break;
		case OP_SPLIT:
			re->stack[top++] = in->y;
			re->stack[top++] = in->x;
			break;
		case OP_BOL:
			if (pos == 0)
				re->stack[top++] = pc + 1;
			break;
		case OP_EOL:
			if (pos == len)
				re->stack[top++] = pc + 1;
			break;
		default:
			list[(*n)++] = pc;
			break;
		}
	}
	return false;
}

static void next_generation(struct ere *re)
{
	if (++re->gen == 0) {
		memset(re->mark, 0, re->n * sizeof *re->mark);
		re->gen = 1;
	}
}

bool ere_match(struct ere *re, const char *text, size_t len)
{
	uint32_t *cl = re->clist, *nl = re->nlist, *t, nc = 0, nn, k;
	const struct insn *in;
	unsigned char c;
	size_t i;

	next_generation(re);
	if (closure(re, 0, 0, len, cl, &nc))
		return true;
	for (i = 0; i < len; i++) {
		c = (unsigned char)text[i];
		next_generation(re);
		nn = 0;
		for (k = 0; k < nc; k++) {
			in = &re->prog[cl[k]];
			if (in->op == OP_BYTE ? in->byte == c : set_has(re->sets[in->set], c))
				if (closure(re, cl[k] + 1, i + 1, len, nl, &nn))
					return true;
		}
		/* unanchored: a match may also begin at i + 1 */
		if (closure(re, 0, i + 1, len, nl, &nn))
			return true;
		t = cl, cl = nl, nl = t;
		nc = nn;
	}
	return false;
}

void ere_free(struct ere *re)
{
	if (!re)
		return;
	free(re->prog);
	free(re->sets);
	free(re->mark);
	free(re->clist);
	free(re->nlist);
	free(re->stack);
	free(re);
}
