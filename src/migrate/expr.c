/*-------------------------------------------------------------------------
 *
 * expr.c
 *	  Expressions of a migration: up (old shape -> new column), down (new
 *	  shape -> old column), CHECK constraints and defaults.
 *
 *	  steward._migration_type(type_name, search_path)
 *	  steward._migration_expr(tbl, expr, names, types, target, what, search_path)
 *	  steward._migration_sql(tbl, expr, params, physical, target)
 *	  steward._migration_type_has_equality(type_name)
 *	  steward._migration_expr_varies(expr, names, types, search_path, target)
 *	  steward._migration_assign(value, target)
 *	  steward._migration_domain_checked(target)
 *
 * The owner writes an expression against a *shape* of the table (the old
 * shape for up, the new shape for down), by column name, before the new
 * columns exist.  _migration_expr parses it once, at migration_start, with
 * the caller's search_path, each shape column standing for a parameter:
 * "total_amount * 100" becomes "($1 * 100)" with params {total_amount}.
 * It is stored in that canonical form, deparsed under search_path =
 * pg_catalog, so every name outside pg_catalog is schema-qualified and the
 * text means the same thing whatever the search_path of whoever uses it
 * later (backfill, validation, the trigger, a restored dump).
 *
 * Whoever evaluates it binds each parameter to the column that holds that
 * shape column *now* (its name changes when the migration completes):
 * _migration_sql returns SQL over the table's physical columns for the
 * backfill and validation statements, steward_migrate_compile returns a
 * planned expression for the dual-write trigger.
 *
 * Expressions are row-local: no subqueries, aggregates, window functions
 * or set-returning functions, and no column outside the shape.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/transam.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_language.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "catalog/dependency.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_func.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "parser/parse_type.h"
#include "parser/parser.h"
#include "parser/scansup.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "migrate/migrate.h"

PG_FUNCTION_INFO_V1(steward_migration_type);
PG_FUNCTION_INFO_V1(steward_migration_expr);
PG_FUNCTION_INFO_V1(steward_migration_sql);
PG_FUNCTION_INFO_V1(steward_migration_type_has_equality);
PG_FUNCTION_INFO_V1(steward_migration_type_equality);
PG_FUNCTION_INFO_V1(steward_migration_expr_varies);
PG_FUNCTION_INFO_V1(steward_migration_fast_default);
PG_FUNCTION_INFO_V1(steward_migration_default_value);
PG_FUNCTION_INFO_V1(steward_migration_assign);
PG_FUNCTION_INFO_V1(steward_migration_domain_checked);

static Datum text_of_value(FunctionCallInfo fcinfo, Expr *expr, Oid target);

/* search_path under which canonical texts are written and read */
#define CANONICAL_PATH "pg_catalog"

/*
 * How column references of an expression are resolved.
 *
 * Analysis (user text): a bare column name of the shape becomes parameter
 * $k, numbered in order of first use.  Binding (canonical text): $k
 * becomes a Var of the table's column attnums[k - 1].
 */
typedef struct ShapeRefs
{
	const char *what;
	/* analysis */
	int			ncand;
	char	  **names;
	Oid		   *types;
	int32	   *typmods;
	int			nused;
	int		   *used;			/* $k -> candidate index */
	/* binding */
	int			nparams;
	const AttrNumber *attnums;
	Relation	rel;
} ShapeRefs;

/* Switch search_path for the rest of a GUC nest level. */
static void
use_search_path(const char *path)
{
	(void) set_config_option("search_path", path, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * Error context: what is being parsed, with positions inside its own text
 * (migrate.h).  Also the context of run_transition's set_sql and of state
 * checks (transitions.c).  Takes no locks; raises no error of its own.
 */
void
steward_parse_context(void *arg)
{
	StewardParseContext *wc = (StewardParseContext *) arg;
	int			pos = geterrposition();

	/* A position refers to our text, not to the statement the client sent. */
	if (pos > 0 && wc->sql)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery(wc->sql);
	}
	errcontext("%s", wc->what);
}

/*
 * Parse one expression: PL/pgSQL's expression grammar gives a SELECT whose
 * target list must be the expression alone (so "x FROM t" or "x; DROP ..."
 * are refused, not spliced into our statements).
 */
static Node *
parse_one_expr(const char *sql, const char *what)
{
	List	   *raw = raw_parser(sql, RAW_PARSE_PLPGSQL_EXPR);
	SelectStmt *sel;

	if (list_length(raw) != 1 || !IsA(linitial_node(RawStmt, raw)->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a single expression", what)));
	sel = (SelectStmt *) linitial_node(RawStmt, raw)->stmt;
	if (list_length(sel->targetList) != 1 || sel->distinctClause || sel->fromClause ||
		sel->whereClause || sel->groupClause || sel->havingClause ||
		sel->windowClause || sel->sortClause || sel->limitCount ||
		sel->limitOffset || sel->lockingClause || sel->intoClause ||
		sel->withClause || sel->valuesLists || sel->op != SETOP_NONE ||
		linitial_node(ResTarget, sel->targetList)->name != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a single expression", what),
				 errdetail("Got: %s", sql),
				 errhint("Write an expression over the columns, e.g. (total_amount * 100)::bigint.")));
	return linitial_node(ResTarget, sel->targetList)->val;
}

/*
 * The expression being parsed, when it is nothing but the bare word that
 * names column "name" (as typed: "EUR" names eur), else NULL.  Then a
 * default is likely a text constant written without SQL quotes inside the
 * JSON string ("default": "EUR"), and its refusal says how to quote it
 * (newcomer47: "may not use column" alone sent the user to "up").  Not
 * said for an up or down: there a bare word is as likely a column of the
 * other shape (regress 16).
 */
static char *
expr_bare_word(ParseState *pstate, const char *name)
{
	const char *src = pstate->p_sourcetext;
	size_t		len;

	if (src == NULL)
		return NULL;
	while (scanner_isspace(*src))
		src++;
	len = strlen(src);
	while (len > 0 && scanner_isspace(src[len - 1]))
		len--;
	if (len != strlen(name) || pg_strncasecmp(src, name, len) != 0)
		return NULL;
	return pnstrdup(src, len);
}

static Node *
shape_columnref(ParseState *pstate, ColumnRef *cref)
{
	ShapeRefs  *refs = (ShapeRefs *) pstate->p_ref_hook_state;
	const char *name;
	int			cand = -1;
	int			k;
	Param	   *param;
	StringInfoData known;
	char	   *word;

	if (refs->names == NULL)
		return NULL;			/* binding: no column names in canonical text */
	if (list_length(cref->fields) != 1 || !IsA(linitial(cref->fields), String))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s may only name columns, without a table name", refs->what),
				 parser_errposition(pstate, cref->location)));
	name = strVal(linitial(cref->fields));
	word = expr_bare_word(pstate, name);
	for (int i = 0; i < refs->ncand; i++)
		if (strcmp(refs->names[i], name) == 0)
		{
			cand = i;
			break;
		}
	/*
	 * A default reads no shape (it is computed without the row, as core's
	 * DEFAULT is): say so with core's SQLSTATE, not an empty list of the
	 * columns it may use (newcomer45 N2).
	 */
	if (cand < 0 && refs->ncand == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
				 errmsg("%s may not use column \"%s\"", refs->what, name),
				 errdetail("A default is computed without the row, as in ALTER TABLE ... ADD COLUMN ... DEFAULT."),
				 word ?
				 errhint("If you meant the text %s, quote it as in SQL inside the JSON string: \"%s\". To compute each row's value from its columns, give \"up\" (the new column's value for the stored rows and for old-shape writes).",
						 quote_literal_cstr(word), quote_literal_cstr(word)) :
				 errhint("To compute each row's value from its columns, give \"up\" (the new column's value for the stored rows and for old-shape writes)."),
				 parser_errposition(pstate, cref->location)));
	if (cand < 0)
	{
		initStringInfo(&known);
		for (int i = 0; i < refs->ncand; i++)
			appendStringInfo(&known, "%s%s", i > 0 ? ", " : "", quote_identifier(refs->names[i]));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s uses column \"%s\", which is not in the shape it reads",
						refs->what, name),
				 errdetail("It may use: %s.", known.data),
				 parser_errposition(pstate, cref->location)));
	}
	for (k = 0; k < refs->nused; k++)
		if (refs->used[k] == cand)
			break;
	if (k == refs->nused)
		refs->used[refs->nused++] = cand;

	param = makeNode(Param);
	param->paramkind = PARAM_EXTERN;
	param->paramid = k + 1;
	param->paramtype = refs->types[cand];
	param->paramtypmod = refs->typmods[cand];
	param->paramcollid = get_typcollation(refs->types[cand]);
	param->location = cref->location;
	return (Node *) param;
}

static Node *
shape_paramref(ParseState *pstate, ParamRef *pref)
{
	ShapeRefs  *refs = (ShapeRefs *) pstate->p_ref_hook_state;
	Form_pg_attribute att;
	Var		   *var;

	if (refs->rel == NULL || pref->number < 1 || pref->number > refs->nparams)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_PARAMETER),
				 errmsg("%s may not use parameter $%d", refs->what, pref->number),
				 parser_errposition(pstate, pref->location)));
	if (refs->attnums[pref->number - 1] <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("a column %s uses is missing from relation \"%s\"",
						refs->what, RelationGetRelationName(refs->rel)),
				 errhint("Was a column of the migration renamed or dropped by hand?")));
	att = TupleDescAttr(RelationGetDescr(refs->rel), refs->attnums[pref->number - 1] - 1);
	var = makeVar(1, att->attnum, att->atttypid, att->atttypmod, att->attcollation, 0);
	var->location = pref->location;
	return (Node *) var;
}

/*
 * Transform a raw expression with the shape hooks; refuse what is not
 * row-local; coerce to target (assignment rules) when given.
 */
static Node *
transform_shape_expr(const char *sql, ShapeRefs *refs, Oid target, int32 targetmod)
{
	ParseState *pstate = make_parsestate(NULL);
	Node	   *raw = parse_one_expr(sql, refs->what);
	Node	   *expr;

	pstate->p_sourcetext = sql;
	pstate->p_pre_columnref_hook = shape_columnref;
	pstate->p_paramref_hook = shape_paramref;
	pstate->p_ref_hook_state = refs;
	if (refs->rel)
		(void) addRangeTableEntryForRelation(pstate, refs->rel, AccessShareLock,
											 NULL, false, false);

	expr = transformExpr(pstate, raw, EXPR_KIND_SELECT_TARGET);
	if (pstate->p_hasAggs || pstate->p_hasWindowFuncs)
		ereport(ERROR,
				(errcode(ERRCODE_GROUPING_ERROR),
				 errmsg("%s may not use aggregate or window functions", refs->what)));
	if (pstate->p_hasSubLinks)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s may not use subqueries", refs->what),
				 errhint("Up and down expressions compute one row's values from that row alone.")));
	if (pstate->p_hasTargetSRFs || expression_returns_set(expr))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s may not use set-returning functions", refs->what)));
	assign_expr_collations(pstate, expr);

	if (OidIsValid(target))
	{
		Oid			type = exprType(expr);
		Node	   *coerced = coerce_to_target_type(pstate, expr, type, target, targetmod,
													COERCION_ASSIGNMENT,
													COERCE_IMPLICIT_CAST, -1);

		if (coerced == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s is of type %s but the column is of type %s",
							refs->what, format_type_be(type),
							format_type_with_typemod(target, targetmod)),
					 errhint("Add an explicit cast, e.g. (...)::%s.",
							 format_type_with_typemod(target, targetmod))));
		expr = coerced;
		assign_expr_collations(pstate, expr);
	}
	free_parsestate(pstate);
	return expr;
}

/* Parse "type_name" (with typmod) into OID and typmod. */
static void
parse_type(const char *type_name, Oid *typid, int32 *typmod)
{
	parseTypeString(type_name, typid, typmod, false);
}

/*
 * The elements of a one-dimensional text[] argument (argno, described as
 * "what" in errors) as C strings; an empty array gives none.  These
 * functions are callable by anyone, so every malformed input is a user
 * error: 22004 for a null array or a null element, 22023 for a
 * multi-dimensional array.
 */
static char **
text_array_arg(FunctionCallInfo fcinfo, int argno, const char *what, int *n)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;

	steward_require_arg(fcinfo, argno, what);
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain null elements", what)));
		out[i] = TextDatumGetCString(elems[i]);
	}
	return out;
}

/*
 * steward._migration_type(type_name text, search_path text) -> text
 *
 * The canonical spelling of a type name given in a step (typmod kept,
 * schema-qualified unless in pg_catalog), so that DDL never splices user
 * text: "bigint; DROP TABLE t" is not a type name.  No locks: reads the
 * catalog cache.  Errors: 22004 (type_name NULL), 42601 (not a type
 * name), 42704 (no such type, or a shell type), 42501 (a schema without
 * USAGE), 22023 or 42601 (a typmod the type rejects; 22023 also for a
 * search_path that is no list of names), 42804 (a pseudo-type).
 */
Datum
steward_migration_type(PG_FUNCTION_ARGS)
{
	char	   *type_name;
	Oid			typid;
	int32		typmod;
	char	   *result;
	int			nest;
	StewardParseContext wc;
	ErrorContextCallback cb;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("type must not be null")));
	type_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	wc.what = psprintf("type name \"%s\"", type_name);
	wc.sql = type_name;
	cb.callback = steward_parse_context;
	cb.arg = &wc;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	nest = NewGUCNestLevel();
	if (!PG_ARGISNULL(1))
		use_search_path(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	parse_type(type_name, &typid, &typmod);
	if (get_typtype(typid) == TYPTYPE_PSEUDO)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("a column cannot be of type %s", format_type_be(typid))));
	use_search_path(CANONICAL_PATH);
	result = format_type_with_typemod(typid, typmod);
	AtEOXact_GUC(true, nest);
	error_context_stack = cb.previous;
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/*
 * The shape of refs for analysis from the arguments names_arg (text[] of
 * shape column names) and names_arg + 1 (their canonical types).  Errors:
 * as text_array_arg, 22023 when they differ in length, 42704 for an
 * unknown type.
 */
static void
shape_refs_args(FunctionCallInfo fcinfo, int names_arg, ShapeRefs *refs)
{
	char	  **typenames;
	int			ntypes;

	refs->names = text_array_arg(fcinfo, names_arg, "shape column names", &refs->ncand);
	typenames = text_array_arg(fcinfo, names_arg + 1, "shape column types", &ntypes);
	if (ntypes != refs->ncand)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("shape column names and types differ in length"),
				 errdetail("%d names, %d types.", refs->ncand, ntypes)));
	refs->types = palloc(sizeof(Oid) * Max(ntypes, 1));
	refs->typmods = palloc(sizeof(int32) * Max(ntypes, 1));
	refs->used = palloc(sizeof(int) * Max(ntypes, 1));
	for (int i = 0; i < ntypes; i++)
		parse_type(typenames[i], &refs->types[i], &refs->typmods[i]);
}

static void check_migration_owner(Oid relid, const char *fn);

/*
 * steward._migration_expr(tbl regclass, expr text, names text[], types text[],
 *                         target text, what text, search_path text)
 *   -> (sql text, params text[])
 *
 * Analyse an expression the owner wrote against a shape whose columns are
 * names[i] of canonical type types[i]; coerce it to "target" (a canonical
 * type, or NULL for none).  Returns the canonical text and the shape
 * columns its parameters stand for.  Nothing is evaluated.  Errors:
 * 42703 for a column outside the shape (or one qualified by a table
 * name), 42804 for a type that does not assign to the target, 22023 for
 * anything but one expression (or names and types of other lengths, a
 * multi-dimensional array), 22004 for a NULL expression, names, types or
 * element, 42803 for an aggregate or window function, 0A000 for a
 * subquery or a set-returning function, 42P02 for a $n parameter, and
 * parse analysis' own (42601, 42883, 42704 for a type of types[] or
 * target); 42501 when the caller does not own tbl (check_migration_owner).
 * Analysed as tbl's owner, restricted, behind the owner-code barrier
 * (NULL tbl: as the caller): analysis runs code of the types expr names
 * or meets (a literal's input function: '{1}'::d[], or a literal compared
 * with a column of type d[], runs the CHECK of domain d through
 * domain_in), and the expressions start carries from the table (its
 * CHECK constraints, a column's default) are the owner's, analysed for a
 * superuser that starts a migration of the owner's table (review37 S2).
 * The owner evaluates every expression analysed here anyway (the
 * backfill, the dual-write trigger), with the same rights.  Names are
 * looked up in search_path as the owner sees it.  Locks: tbl is not
 * opened; parse analysis takes
 * AccessShareLock on a relation a subquery of expr names (waiting behind
 * an ACCESS EXCLUSIVE holder: 55P03 under lock_timeout) before the
 * subquery is refused, and the error releases it.
 */
Datum
steward_migration_expr(PG_FUNCTION_ARGS)
{
	ShapeRefs	refs = {0};
	char	   *sql;
	Oid			target = InvalidOid;
	int32		targetmod = -1;
	int			nest;
	Node	   *expr;
	char	   *canonical;
	Datum	   *params;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	StewardParseContext wc;
	ErrorContextCallback cb;
	StewardAsOwner owner;

	steward_require_arg(fcinfo, 1, "expression");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	refs.what = PG_ARGISNULL(5) ? "expression" : text_to_cstring(PG_GETARG_TEXT_PP(5));
	shape_refs_args(fcinfo, 2, &refs);
	if (!PG_ARGISNULL(4))
		parse_type(text_to_cstring(PG_GETARG_TEXT_PP(4)), &target, &targetmod);
	/* Type names run no code of their owner's (typmodin: C, superusers'). */
	if (!PG_ARGISNULL(0))
	{
		check_migration_owner(PG_GETARG_OID(0), "steward._migration_expr");
		steward_as_role_begin(steward_relation_owner(PG_GETARG_OID(0)),
							  STEWARD_PINNED_SEARCH_PATH, false, &owner);
	}

	wc.what = refs.what;
	wc.sql = sql;
	cb.callback = steward_parse_context;
	cb.arg = &wc;
	cb.previous = error_context_stack;
	error_context_stack = &cb;

	nest = NewGUCNestLevel();
	if (!PG_ARGISNULL(6))
		use_search_path(text_to_cstring(PG_GETARG_TEXT_PP(6)));
	expr = transform_shape_expr(sql, &refs, target, targetmod);

	/*
	 * The canonical text is the expression before coercion: the coercion is
	 * applied again wherever it is bound, to the column type of that time.
	 */
	if (OidIsValid(target))
	{
		refs.nused = 0;
		expr = transform_shape_expr(sql, &refs, InvalidOid, -1);
	}
	use_search_path(CANONICAL_PATH);
	steward_pin_output_settings();	/* constants print the same everywhere */
	steward_pin_sql_strings();	/* read in the caller's setting, written in "on" */
	canonical = deparse_expression(expr, NIL, false, false);
	AtEOXact_GUC(false, nest);
	if (!PG_ARGISNULL(0))
		steward_as_owner_end(&owner);
	error_context_stack = cb.previous;

	params = palloc(sizeof(Datum) * Max(refs.nused, 1));
	for (int k = 0; k < refs.nused; k++)
		params[k] = CStringGetTextDatum(refs.names[refs.used[k]]);
	values[0] = CStringGetTextDatum(canonical);
	values[1] = PointerGetDatum(construct_array(params, refs.nused, TEXTOID, -1, false,
												TYPALIGN_INT));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * Bind a canonical expression to the relation: $k is the column attnums[k-1].
 * Caller holds a lock on rel.
 */
static Node *
bind_expr(Relation rel, const char *sql, int nparams, const AttrNumber *attnums,
		  Oid target, int32 targetmod, const char *what)
{
	ShapeRefs	refs = {0};
	Node	   *expr;
	int			nest;

	refs.what = what;
	refs.rel = rel;
	refs.nparams = nparams;
	refs.attnums = attnums;
	nest = NewGUCNestLevel();
	use_search_path(STEWARD_PINNED_SEARCH_PATH);
	steward_pin_output_settings();
	steward_pin_sql_strings();
	expr = transform_shape_expr(sql, &refs, target, targetmod);
	AtEOXact_GUC(false, nest);
	return expr;
}

/*
 * Planned expression for the dual-write trigger (see dualwrite.c), to be
 * evaluated with the row as scan tuple.  Caller holds a lock on rel and
 * runs as the table's owner: planning may pre-evaluate the owner's
 * immutable functions.  Takes no lock of its own.  Errors: 42703 when a
 * column the expression uses is missing from rel, 42P02 for a parameter
 * beyond nparams, 42804 when its type no longer assigns to target, parse
 * analysis' own for an object dropped since the expression was checked
 * (42883 for a function), and what a pre-evaluated function raises.
 */
Expr *
steward_migrate_compile(Relation rel, const char *sql, int nparams,
						const AttrNumber *attnums, Oid target, int32 targetmod,
						const char *what)
{
	Node	   *expr = bind_expr(rel, sql, nparams, attnums, target, targetmod, what);

	return expression_planner((Expr *) expr);
}

/*
 * The caller of an internal helper ("fn") that opens the relation relid
 * must own it, or be a member of its owner's role, as the migration API
 * requires of whoever runs a migration (steward_check_table_owner, with a
 * HINT): 42501, or 42P01 when relid names no relation.  Takes no lock.
 */
static void
check_migration_owner(Oid relid, const char *fn)
{
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!pg_class_ownercheck(relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", get_rel_name(relid)),
				 errhint("%s is internal to the migrations of a table, which only its owner "
						 "(or a member of the owner's role) runs: steward.migration_start().",
						 fn)));
}

/*
 * Is node a length coercion made by the assignment rules: a FuncExpr shown
 * as an implicit cast whose third argument, isExplicit, is false
 * (varchar(n), bpchar(n), bit(n), varbit(n) and types made so)?
 */
static bool
assignment_length_coercion(Node *node)
{
	FuncExpr   *f;
	Node	   *last;

	if (node == NULL || !IsA(node, FuncExpr))
		return false;
	f = (FuncExpr *) node;
	last = list_length(f->args) == 3 ? llast(f->args) : NULL;
	return f->funcformat == COERCE_IMPLICIT_CAST && last != NULL && IsA(last, Const) &&
		((Const *) last)->consttype == BOOLOID && !((Const *) last)->constisnull &&
		!DatumGetBool(((Const *) last)->constvalue);
}

/* Does node hold an assignment_length_coercion? (expression_tree_walker) */
static bool
has_assignment_length_coercion(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (assignment_length_coercion(node))
		return true;
	return expression_tree_walker(node, has_assignment_length_coercion, context);
}

/*
 * Make the length coercions of an assignment deparse as what they do:
 * text read back with "::character varying(3)" is an explicit cast,
 * which cuts a value too long where the assignment the backfill and the
 * dual-write trigger make fails (22001).  A scalar one becomes a call of
 * its function, "varchar"(x, 7, false).  An array's (an ArrayCoerceExpr
 * whose per-element coercion is one: text[] assigned to varchar(3)[])
 * has no function of its own and deparses as a cast of the whole array
 * whatever its elements do, so it becomes steward._migration_assign(x,
 * 'character varying(3)[]')::character varying[]: the assignment made
 * by the function the start's probe calls, read back from its text, which
 * is exact (mig19: validate cut {abcdef} to {abc} and passed a row the
 * trigger refuses).  Other coercions act the same either way.  Returns a
 * changed copy; errors: 42883 when that function is missing (SQL objects
 * older than the library).
 */
static Node *
show_assignment_mutator(Node *node, void *context)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, ArrayCoerceExpr) &&
		has_assignment_length_coercion((Node *) ((ArrayCoerceExpr *) node)->elemexpr, NULL))
	{
		ArrayCoerceExpr *a = (ArrayCoerceExpr *) node;
		Node	   *arg = show_assignment_mutator((Node *) a->arg, context);
		Oid			argtypes[2] = {ANYOID, TEXTOID};
		Oid			fn = LookupFuncName(list_make2(makeString(STEWARD_SCHEMA),
												   makeString("_migration_assign")),
										2, argtypes, false);
		char	   *type = format_type_extended(a->resulttype, a->resulttypmod,
												FORMAT_TYPE_TYPEMOD_GIVEN |
												FORMAT_TYPE_FORCE_QUALIFY);
		Const	   *target = makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1,
									   CStringGetTextDatum(type), false, false);
		FuncExpr   *assign = makeFuncExpr(fn, TEXTOID, list_make2(arg, target),
										  DEFAULT_COLLATION_OID, exprCollation(arg),
										  COERCE_EXPLICIT_CALL);
		CoerceViaIO *io = makeNode(CoerceViaIO);

		io->arg = (Expr *) assign;
		io->resulttype = a->resulttype;
		io->resultcollid = a->resultcollid;
		io->coerceformat = COERCE_EXPLICIT_CAST;
		io->location = -1;
		return (Node *) io;
	}
	if (assignment_length_coercion(node))
	{
		FuncExpr   *f = (FuncExpr *) expression_tree_mutator(node, show_assignment_mutator,
															 context);

		f->funcformat = COERCE_EXPLICIT_CALL;
		return (Node *) f;
	}
	return expression_tree_mutator(node, show_assignment_mutator, context);
}

/*
 * bind_expr for steward_migration_sql, analysed as rel's owner, restricted,
 * behind the owner-code barrier (steward_as_table_owner_begin): analysis
 * runs code of the types the expression names (a literal's input
 * function: '{1}'::d[] runs the CHECK of domain d through domain_in, and
 * so does a row type with a column of d), and the stored expressions of a
 * migration are written by whoever started it, the table's owner as a
 * rule, but bound again by whoever runs its later steps, often a superuser
 * (review37 S1: an owner's domain CHECK ran as the superuser running
 * migration_backfill).  The owner runs every statement built from the
 * result (_migration_exec, the dual-write trigger), with the same rights
 * it needs here.  Caller holds a lock on rel.
 */
static Node *
bind_as_owner(Relation rel, const char *sql, int nparams, const AttrNumber *attnums,
			  Oid target, int32 targetmod)
{
	StewardAsOwner ctx;
	Node	   *expr;

	steward_as_table_owner_begin(rel, false, &ctx);
	expr = bind_expr(rel, sql, nparams, attnums, target, targetmod, "migration expression");
	steward_as_owner_end(&ctx);
	return expr;
}

/*
 * steward._migration_sql(tbl regclass, expr text, params text[],
 *                        physical text[], target text) -> text
 *
 * SQL over the table's physical columns for a canonical expression whose
 * parameters stand for the columns named physical[k] now; coerced to
 * "target" when given, by the assignment rules, as the backfill's SET and
 * the dual-write trigger coerce it (the cast is shown, a length coercion
 * as its function's call or, an array's, as steward._migration_assign's:
 * show_assignment_mutator; validate's "values"
 * check read an explicit cast, which cut a value too long for varchar(n)
 * that the backfill refuses, and passed: closing46 Noticed 5).  The
 * caller must own tbl (42501, check_migration_owner), as whoever runs its
 * migrations does.  Takes AccessShareLock.
 */
Datum
steward_migration_sql(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *sql;
	char	  **physical;
	int			n;
	int			nparams;
	AttrNumber *attnums;
	Oid			target = InvalidOid;
	int32		targetmod = -1;
	Relation	rel;
	Node	   *expr;
	char	   *result;
	int			nest;

	steward_require_arg(fcinfo, 0, "table");
	steward_require_arg(fcinfo, 1, "expression");
	relid = PG_GETARG_OID(0);
	sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	(void) text_array_arg(fcinfo, 2, "parameters", &nparams);
	physical = text_array_arg(fcinfo, 3, "physical columns", &n);
	if (nparams != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameters and physical columns differ in length"),
				 errdetail("%d parameters, %d physical columns.", nparams, n)));
	if (!PG_ARGISNULL(4))
		parse_type(text_to_cstring(PG_GETARG_TEXT_PP(4)), &target, &targetmod);

	/*
	 * Any OID may come in: a missing relation is the caller's error, and
	 * so is someone else's table (checked before it is locked).
	 */
	check_migration_owner(relid, "steward._migration_sql");
	rel = steward_open_relation_or_42P01(relid, AccessShareLock);
	attnums = palloc(sizeof(AttrNumber) * Max(n, 1));
	for (int k = 0; k < n; k++)
		attnums[k] = get_attnum(relid, physical[k]);
	expr = bind_as_owner(rel, sql, n, attnums, target, targetmod);
	expr = show_assignment_mutator(expr, NULL);

	nest = NewGUCNestLevel();
	use_search_path(CANONICAL_PATH);
	steward_pin_output_settings();
	result = deparse_expression(expr,
								deparse_context_for(RelationGetRelationName(rel), relid),
								false, true);
	AtEOXact_GUC(false, nest);
	relation_close(rel, NoLock);
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/*
 * What text_search_walker looks for: a node that may read
 * default_text_search_config (READS_TEXT_SEARCH), or one that is not pure
 * (NOT_PURE: steward_migrate_expr_is_pure).
 */
typedef enum ExprLook
{
	READS_TEXT_SEARCH,
	NOT_PURE
} ExprLook;

/* The equality operator the type cache knows for type_name, or InvalidOid. */
static Oid
type_equality(text *type_name)
{
	Oid			typid;
	int32		typmod;

	parse_type(text_to_cstring(type_name), &typid, &typmod);
	return lookup_type_cache(typid, TYPECACHE_EQ_OPR)->eq_opr;
}

/*
 * steward._migration_type_equality(type_name text) -> text
 *
 * The equality the type cache knows for type_name (a canonical type name,
 * as migration_columns.new_type: its default btree or hash operator
 * class; for an array or a row type, its elements' too), the one the
 * dual-write trigger compares values by (dualwrite.c shape_values_equal),
 * as "OPERATOR(schema.name)"; NULL for a type without one.  json, xml,
 * point, box and json[] have none (box's "=" compares areas), so
 * validation compares their text images (mig14 M1).  Qualified because
 * validation runs with search_path pg_catalog, pg_temp, where "IS
 * DISTINCT FROM" finds no "=" for an extension's type (cube, hstore,
 * PostGIS's geometry, pgvector's vector: 42883, a migration that never
 * validates; codereview17 C2).  Takes no lock.  Errors: 42704 for an
 * unknown type.
 */
Datum
steward_migration_type_equality(PG_FUNCTION_ARGS)
{
	Oid			eq;
	HeapTuple	tup;
	Form_pg_operator op;
	char	   *name;

	steward_require_arg(fcinfo, 0, "type");
	eq = type_equality(PG_GETARG_TEXT_PP(0));
	if (!OidIsValid(eq))
		PG_RETURN_NULL();
	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(eq));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", eq);
	op = (Form_pg_operator) GETSTRUCT(tup);
	name = psprintf("OPERATOR(%s.%s)",
					quote_identifier(get_namespace_name(op->oprnamespace)),
					NameStr(op->oprname));
	ReleaseSysCache(tup);
	PG_RETURN_TEXT_P(cstring_to_text(name));
}

/*
 * 0.2's first steward._migration_type_has_equality(type_name text) ->
 * boolean, which pg_steward--0.1--0.2.sql creates before it drops it
 * (a C function's symbol must exist when it is created): whether
 * steward_migration_type_equality has an answer.  Nothing calls it.
 * Takes no lock.  Errors: 42704 for an unknown type.
 */
Datum
steward_migration_type_has_equality(PG_FUNCTION_ARGS)
{
	steward_require_arg(fcinfo, 0, "type");
	PG_RETURN_BOOL(OidIsValid(type_equality(PG_GETARG_TEXT_PP(0))));
}

/*
 * PostgreSQL's STABLE functions whose value is the session's, the trigger
 * level's or the server's run's, not the row's: the dual-write trigger
 * evaluates an up in each writer's session (inside a trigger), the
 * backfill and validation in theirs, so each row written elsewhere (or
 * before a reload or restart) differs (codereview17 C3: "up":
 * "pg_backend_pid()" passed start and failed validation for every row
 * another session wrote).  current_schemas() names the session's own
 * temporary schema under the pinned search_path (pg_catalog, pg_temp)
 * once it has one; pg_client_encoding() is the client's setting, which
 * is not pinned (codereview18 C1).
 */
static bool
session_function(Oid funcid)
{
	static const Oid session_functions[] = {
		F_PG_BACKEND_PID, F_INET_CLIENT_ADDR, F_INET_CLIENT_PORT,
		F_INET_SERVER_ADDR, F_INET_SERVER_PORT, F_PG_MY_TEMP_SCHEMA,
		F_PG_TRIGGER_DEPTH, F_CURRENT_SCHEMAS, F_PG_CLIENT_ENCODING,
		F_PG_CONF_LOAD_TIME, F_PG_POSTMASTER_START_TIME
	};

	for (int i = 0; i < lengthof(session_functions); i++)
		if (funcid == session_functions[i])
			return true;
	return false;
}

/*
 * What varies_walker found: the name the refusal quotes, and the function
 * when it is not PostgreSQL's own (the owner may declare it STABLE or
 * IMMUTABLE), else InvalidOid; for such a function, how the expression
 * calls it when it writes no call of it (implicit_use: a cast, a type's
 * input or output function, an operator), else NULL, and the extension
 * it belongs to, else NULL (trust50: both got the HINT's ALTER FUNCTION,
 * which the user of a cast did not see the call of, and only an
 * extension's owner could run, undone by its next update).  "node" is the
 * node check_functions_in_node is looking at, for varying_function.
 */
typedef struct Varying
{
	char	   *name;
	Oid			own_function;
	char	   *used_as;
	char	   *extension;
	Node	   *node;
} Varying;

/*
 * How expression node "node" calls function funcid when the expression's
 * text writes no call of it: "the cast from integer to s.t" (a cast
 * function, written as a cast or implicit), "the input function of type
 * s.t" or "the output function of type s.t" (a cast through text,
 * CoerceViaIO), "operator s.=(s.t,s.t)"; NULL for a call written as one.
 * Reads the catalog caches; raises nothing but out of memory.
 */
static char *
implicit_use(Node *node, Oid funcid)
{
	switch (nodeTag(node))
	{
		case T_FuncExpr:
			{
				FuncExpr   *f = (FuncExpr *) node;

				if (f->funcformat != COERCE_EXPLICIT_CAST &&
					f->funcformat != COERCE_IMPLICIT_CAST)
					return NULL;
				return psprintf("the cast from %s to %s",
								format_type_be(exprType(linitial(f->args))),
								format_type_be(f->funcresulttype));
			}
		case T_CoerceViaIO:
			{
				CoerceViaIO *c = (CoerceViaIO *) node;
				Oid			argtype = exprType((Node *) c->arg);
				Oid			outfunc;
				bool		varlena;

				getTypeOutputInfo(argtype, &outfunc, &varlena);
				if (funcid == outfunc)
					return psprintf("the output function of type %s", format_type_be(argtype));
				return psprintf("the input function of type %s", format_type_be(c->resulttype));
			}
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
			return psprintf("operator %s", format_operator(((OpExpr *) node)->opno));
		case T_ScalarArrayOpExpr:
			return psprintf("operator %s", format_operator(((ScalarArrayOpExpr *) node)->opno));
		case T_RowCompareExpr:
			return pstrdup("an operator of a row comparison");
		case T_Aggref:
		case T_WindowFunc:
			return NULL;
		default:
			return pstrdup("a function the expression calls implicitly");
	}
}

/*
 * Does function funcid give another value at each call, or in each
 * transaction, whatever its arguments (check_functions_in_node's checker
 * for varies_walker; context: the Varying to fill)?  Any function
 * declared VOLATILE, PostgreSQL's (random, gen_random_uuid,
 * clock_timestamp, nextval, ...), an extension's or the user's, as the
 * planner judges it (upvol49: a user's VOLATILE function was accepted
 * where random() was refused, with the same harm: every row differed at
 * validation); the STABLE ones of the transaction's time (now,
 * transaction_timestamp, statement_timestamp) and of the session
 * (session_function).  A STABLE or IMMUTABLE function of the user's is
 * accepted on its word: its body is not read (nor inlined: parse analysis
 * only).
 */
static bool
varying_function(Oid funcid, void *context)
{
	Varying    *found = (Varying *) context;
	HeapTuple	tup;
	Form_pg_proc proc;
	bool		varies;

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	if (!HeapTupleIsValid(tup))
		return false;
	proc = (Form_pg_proc) GETSTRUCT(tup);
	varies = proc->provolatile == PROVOLATILE_VOLATILE ||
		funcid == F_NOW || funcid == F_TRANSACTION_TIMESTAMP ||
		funcid == F_STATEMENT_TIMESTAMP || session_function(funcid);
	if (varies && funcid < FirstNormalObjectId)
		found->name = psprintf("%s()", NameStr(proc->proname));
	else if (varies)
	{
		Oid			ext = getExtensionOfObject(ProcedureRelationId, funcid);

		found->name = format_procedure(funcid);
		found->own_function = funcid;
		found->used_as = implicit_use(found->node, funcid);
		found->extension = OidIsValid(ext) ? get_extension_name(ext) : NULL;
	}
	ReleaseSysCache(tup);
	return varies;
}

/*
 * Is f current_setting(name [, missing_ok]) of a setting that is not
 * pinned where a migration's expressions are evaluated
 * (steward_setting_is_pinned: DateStyle, TimeZone, ...), or of a name
 * that is no constant?  Then each session that evaluates it reads its own
 * value: the dual-write trigger the writer's, the backfill and validation
 * theirs, and every row written under another value fails validation
 * (codereview17 R2: "up": "current_setting('app.x')" passed start).  Sets
 * *name to what the refusal quotes.  Raises nothing.
 */
static bool
reads_unpinned_setting(FuncExpr *f, char **name)
{
	Const	   *arg;
	char	   *setting;

	if (f->funcid != F_CURRENT_SETTING_TEXT && f->funcid != F_CURRENT_SETTING_TEXT_BOOL)
		return false;
	arg = (Const *) linitial(f->args);
	if (!IsA(arg, Const) || arg->constisnull || arg->consttype != TEXTOID)
	{
		*name = pstrdup("current_setting()");
		return true;
	}
	setting = TextDatumGetCString(arg->constvalue);
	if (steward_setting_is_pinned(setting))
		return false;
	*name = psprintf("current_setting(%s)", quote_literal_cstr(setting));
	return true;
}

/* The walker of steward_migration_expr_varies (context: Varying *). */
static bool
varies_walker(Node *node, void *context)
{
	char	  **name = &((Varying *) context)->name;

	if (node == NULL)
		return false;
	if (IsA(node, SQLValueFunction))
	{
		SQLValueFunction *f = (SQLValueFunction *) node;

		static const char *const names[] = {
			"CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIME", "CURRENT_TIMESTAMP",
			"CURRENT_TIMESTAMP", "LOCALTIME", "LOCALTIME", "LOCALTIMESTAMP", "LOCALTIMESTAMP"
		};

		StaticAssertStmt(SVFOP_CURRENT_DATE == 0 && SVFOP_LOCALTIMESTAMP_N == 8,
						 "the SQLValueFunctions of the time come first");
		if (f->op <= SVFOP_LOCALTIMESTAMP_N)
		{
			*name = pstrdup(names[f->op]);
			return true;
		}
		/* The session's, as session_function's (current_user is pinned). */
		if (f->op == SVFOP_SESSION_USER)
		{
			*name = pstrdup("SESSION_USER");
			return true;
		}
	}
	if (IsA(node, FuncExpr) && reads_unpinned_setting((FuncExpr *) node, name))
		return true;
	((Varying *) context)->node = node;
	if (check_functions_in_node(node, varying_function, context))
		return true;
	return expression_tree_walker(node, varies_walker, context);
}

/*
 * steward._migration_expr_varies(expr text, names text[], types text[],
 *                                search_path text, target text,
 *                                OUT uses text, OUT own_function regprocedure,
 *                                OUT used_as text, OUT extension text)
 *
 * What makes expr (an up or down the owner wrote against a shape of
 * columns names[i] of types types[i], as for _migration_expr) give
 * another value each time it is evaluated, or in each transaction: a
 * VOLATILE function, PostgreSQL's (gen_random_uuid(), random(),
 * clock_timestamp()) or not (own_function: then uses is its signature,
 * schema-qualified unless in pg_catalog, as the caller's pinned
 * search_path shows it: public.r(integer); used_as, how the expression
 * calls it when no call of it is written, and extension, the extension
 * it belongs to, else NULL: Varying), now(), CURRENT_TIMESTAMP
 * (varying_function), or in each session: pg_backend_pid(),
 * current_setting('app.x') of a setting that is not pinned
 * (reads_unpinned_setting, named with its setting); NULL when there is
 * none.  target, a canonical type or NULL, is the type of the column
 * the expression fills: expr is looked at coerced to it by the assignment
 * rules, as the backfill and the dual-write trigger evaluate it
 * (_migration_sql), so an ASSIGNMENT cast's function, which the
 * expression calls without writing the call ("up": "v" into a column of
 * the user's type), counts (review39: it was looked at uncoerced).
 * Validation evaluates up and down again and compares them with each
 * row's stored values, so such an expression fails it for every row,
 * after the whole backfill (mig14 M3).  Nothing is evaluated.  Takes no
 * lock of its own (parse analysis takes those of _migration_expr).
 * Errors: those of _migration_expr's analysis.
 */
Datum
steward_migration_expr_varies(PG_FUNCTION_ARGS)
{
	ShapeRefs	refs = {0};
	Varying		found = {NULL, InvalidOid, NULL, NULL, NULL};
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	char	   *sql;
	Node	   *expr;
	int			nest;
	Oid			target = InvalidOid;
	int32		targetmod = -1;

	steward_require_arg(fcinfo, 0, "expression");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "steward._migration_expr_varies must return a row");
	sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	refs.what = "expression";
	shape_refs_args(fcinfo, 1, &refs);
	if (!PG_ARGISNULL(4))
		parse_type(text_to_cstring(PG_GETARG_TEXT_PP(4)), &target, &targetmod);
	nest = NewGUCNestLevel();
	if (!PG_ARGISNULL(3))
		use_search_path(text_to_cstring(PG_GETARG_TEXT_PP(3)));
	expr = transform_shape_expr(sql, &refs, target, targetmod);
	AtEOXact_GUC(false, nest);
	if (!varies_walker(expr, &found))
		PG_RETURN_NULL();
	values[0] = CStringGetTextDatum(found.name);
	values[1] = ObjectIdGetDatum(found.own_function);
	nulls[1] = !OidIsValid(found.own_function);
	values[2] = found.used_as ? CStringGetTextDatum(found.used_as) : (Datum) 0;
	nulls[2] = found.used_as == NULL;
	values[3] = found.extension ? CStringGetTextDatum(found.extension) : (Datum) 0;
	nulls[3] = found.extension == NULL;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * An add_column's canonical "default" (sql) analysed as _migration_expr
 * wrote it (search_path pg_catalog, standard_conforming_strings on) and
 * coerced by the assignment rules to the canonical type type_name, whose
 * OID goes to *target.  Errors: those of the analysis.
 */
static Node *
transform_canonical_default(text *sql, text *type_name, Oid *target)
{
	ShapeRefs	refs = {0};
	int32		targetmod;
	Node	   *expr;
	int			nest;

	refs.what = "default";
	nest = NewGUCNestLevel();
	use_search_path(CANONICAL_PATH);
	steward_pin_sql_strings();
	parse_type(text_to_cstring(type_name), target, &targetmod);
	expr = transform_shape_expr(text_to_cstring(sql), &refs, *target, targetmod);
	AtEOXact_GUC(false, nest);
	return expr;
}

/*
 * Push the error context of a canonical "default" (sql, for a column of
 * type type_name) analysed or evaluated: the context line names it, and a
 * position (an input function's, "invalid input syntax for type integer")
 * counts in sql, shown as QUERY, not in the caller's statement, where the
 * caret pointed at its first characters (codereview18 C7).  The caller
 * pops cb (error_context_stack = cb->previous).  Raises nothing.
 */
static void
push_default_context(ErrorContextCallback *cb, StewardParseContext *wc, text *sql,
					 text *type_name)
{
	wc->sql = text_to_cstring(sql);
	wc->what = psprintf("default of a column of type %s", text_to_cstring(type_name));
	cb->callback = steward_parse_context;
	cb->arg = wc;
	cb->previous = error_context_stack;
	error_context_stack = cb;
}

/*
 * steward._migration_fast_default(expr text, target text) -> boolean
 *
 * May an add_column's "default" with no "up" (expr: its canonical text,
 * as _migration_expr wrote it, read back under search_path pg_catalog
 * with standard_conforming_strings on) go into the ALTER TABLE ... ADD
 * COLUMN itself (newcomer45 N9)?  Then PostgreSQL keeps it as the
 * column's missing value (pg_attribute.attmissingval, its "fast
 * default"): every stored row reads it at once, with no rewrite, as
 * after ALTER TABLE ... ADD COLUMN ... DEFAULT, where they read NULL
 * until the backfill reached them.  True when expr, coerced to the
 * canonical type target, calls no function that is not IMMUTABLE
 * (contain_mutable_functions: a volatile one makes ADD COLUMN rewrite
 * the table under ACCESS EXCLUSIVE; a stable one, now(), would give the
 * stored rows start's value where the backfill gives each batch's), and
 * target is not a domain with constraints (ADD COLUMN then rewrites the
 * table to check them).  So the value read is the one the backfill
 * writes into each row.  Nothing is evaluated.  Takes no lock of its own.
 * Errors: those of _migration_expr's analysis; 22004 for a NULL argument.
 */
Datum
steward_migration_fast_default(PG_FUNCTION_ARGS)
{
	Oid			target;
	Node	   *expr;
	StewardParseContext wc;
	ErrorContextCallback cb;

	steward_require_arg(fcinfo, 0, "expression");
	steward_require_arg(fcinfo, 1, "type");
	push_default_context(&cb, &wc, PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1));
	expr = transform_canonical_default(PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1), &target);
	error_context_stack = cb.previous;
	PG_RETURN_BOOL(!contain_mutable_functions(expr) && !DomainHasConstraints(target));
}

/*
 * steward._migration_default_value(expr text, target text) -> text
 *
 * The value an add_column's "default" (expr: its canonical text, read as
 * steward_migration_fast_default reads it) gives the column of canonical
 * type target, as an INSERT leaving the column out computes it: coerced
 * by the assignment rules, as ALTER TABLE ... SET DEFAULT stores it, so
 * that a value too long for varchar(n), char(n) or bit(n) fails (22001,
 * 22026) and a domain's constraints are checked, where an explicit cast
 * cuts it (mig16: "'toolong'" for a varchar(3) passed start's probe,
 * which evaluated it uncoerced, and then failed every INSERT of the old
 * application and the backfill).  Returns the value's text, or NULL.
 * Evaluated as the caller, in its settings (migration_start's probe runs
 * it as the table's owner, settings pinned, in a subtransaction it rolls
 * back).  Its errors' context names the default, and a position counts
 * in its text (QUERY), not in the caller's statement (codereview18 C7:
 * "invalid input syntax for type integer" put the caret at the start of
 * the caller's SELECT).  Takes no lock of its own.  Errors: those of
 * _migration_expr's analysis, whatever evaluating the default raises;
 * 22004 for a NULL argument.
 */
Datum
steward_migration_default_value(PG_FUNCTION_ARGS)
{
	Oid			target;
	Expr	   *expr;
	Datum		result;
	StewardParseContext wc;
	ErrorContextCallback cb;

	steward_require_arg(fcinfo, 0, "expression");
	steward_require_arg(fcinfo, 1, "type");
	push_default_context(&cb, &wc, PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1));
	expr = (Expr *) transform_canonical_default(PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1),
												&target);
	result = text_of_value(fcinfo, expr, target);
	error_context_stack = cb.previous;
	return result;
}

/*
 * Evaluate expr (of type target, reading no row) in a fresh executor
 * state and return its output text as fcinfo's result, or NULL.
 */
static Datum
text_of_value(FunctionCallInfo fcinfo, Expr *expr, Oid target)
{
	EState	   *estate = CreateExecutorState();
	ExprState  *state = ExecPrepareExpr(expr, estate);
	Datum		value;
	bool		isnull;
	Oid			outfunc;
	bool		varlena;
	char	   *result = NULL;

	value = ExecEvalExprSwitchContext(state, GetPerTupleExprContext(estate), &isnull);
	if (!isnull)
	{
		getTypeOutputInfo(target, &outfunc, &varlena);
		result = OidOutputFunctionCall(outfunc, value);
	}
	FreeExecutorState(estate);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/*
 * steward._migration_assign(value "any", target text) -> text
 *
 * value, of whatever type it has (an unknown literal too), coerced to the
 * canonical type target by the assignment rules, as an UPDATE's SET or
 * an INSERT coerces it -- the backfill's SET and the dual-write
 * trigger's coercion (steward_migrate_compile) -- and returned as the
 * target type's text, or NULL: a value too long for varchar(n), char(n)
 * or bit(n) fails (22001, 22026), numeric(p,s) overflow fails (22003),
 * a domain's constraints are checked (23514, 23502 for a NULL).  An
 * explicit cast, which _migration_sql's target writes, cuts or pads
 * instead (mig17: start's probe of an up passed "'toolong'" for a
 * varchar(3), which then failed at the backfill).  Not strict: a NULL is
 * coerced too.  Takes no lock.  Errors: those of the coercion, 42804
 * when value's type does not assign to target, 22004 for a NULL target.
 */
Datum
steward_migration_assign(PG_FUNCTION_ARGS)
{
	Oid			argtype = get_fn_expr_argtype(fcinfo->flinfo, 0);
	Oid			target;
	int32		targetmod;
	int16		typlen;
	bool		typbyval;
	Const	   *value;
	Node	   *coerced;
	ParseState *pstate;
	int			nest;

	steward_require_arg(fcinfo, 1, "type");
	if (!OidIsValid(argtype))
		ereport(ERROR,
				(errcode(ERRCODE_INDETERMINATE_DATATYPE),
				 errmsg("could not determine the type of the value to assign")));
	nest = NewGUCNestLevel();
	use_search_path(CANONICAL_PATH);
	parse_type(text_to_cstring(PG_GETARG_TEXT_PP(1)), &target, &targetmod);
	AtEOXact_GUC(false, nest);
	get_typlenbyval(argtype, &typlen, &typbyval);
	value = makeConst(argtype, -1, PG_GET_COLLATION(), typlen,
					  PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0),
					  PG_ARGISNULL(0), typbyval);
	pstate = make_parsestate(NULL);
	coerced = coerce_to_target_type(pstate, (Node *) value, argtype, target, targetmod,
									COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
	free_parsestate(pstate);
	if (coerced == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("value of type %s does not assign to type %s",
						format_type_be(argtype), format_type_with_typemod(target, targetmod))));
	return text_of_value(fcinfo, (Expr *) coerced, target);
}

/*
 * steward._migration_domain_checked(target text) -> boolean
 *
 * Is the canonical type target a domain with constraints (a CHECK or NOT
 * NULL, its base domains' included)?  PostgreSQL 15's ALTER TABLE ... ADD
 * COLUMN of such a type rewrites the whole table under ACCESS EXCLUSIVE
 * to check them, default or not (ATExecAddColumn), which migration_start
 * refuses on a table that is not empty (_migration_refuse_rewrite;
 * mig17).  Takes no lock.  Errors: 22004 for a NULL argument, those of
 * the type's name.
 */
Datum
steward_migration_domain_checked(PG_FUNCTION_ARGS)
{
	Oid			target;
	int32		targetmod;
	int			nest;

	steward_require_arg(fcinfo, 0, "type");
	nest = NewGUCNestLevel();
	use_search_path(CANONICAL_PATH);
	parse_type(text_to_cstring(PG_GETARG_TEXT_PP(0)), &target, &targetmod);
	AtEOXact_GUC(false, nest);
	PG_RETURN_BOOL(DomainHasConstraints(target));
}

/*
 * May function funcid read default_text_search_config, or run code that
 * may (check_functions_in_node's checker for text_search_walker)?  Only a
 * built-in C function whose C name does not mention text search, XML
 * (query_to_xml and its kin run any query), settings or configurations
 * (current_setting, get_current_ts_config) is sure not to: the readers of
 * the setting in PostgreSQL 15 are to_tsvector, to_tsquery and their
 * kin, ts_headline and get_current_ts_config, whose C names all contain
 * "ts".  A function of the SQL language, of an extension or of a user:
 * may.  With look NOT_PURE: is funcid anything but a built-in C function
 * marked IMMUTABLE (which looks no name up, reads no table and reads no
 * setting but those steward_output_settings_pinned checks: float and
 * bytea output, quote_ident's quoting)?
 */
static bool
text_search_reader(Oid funcid, void *context)
{
	ExprLook	look = *(ExprLook *) context;
	HeapTuple	tup;
	Form_pg_proc proc;
	bool		reads = true;

	if (funcid >= FirstNormalObjectId)
		return true;
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	if (!HeapTupleIsValid(tup))
		return true;
	proc = (Form_pg_proc) GETSTRUCT(tup);
	if (look == NOT_PURE)
		reads = (proc->prolang != INTERNALlanguageId && proc->prolang != ClanguageId) ||
			proc->provolatile != PROVOLATILE_IMMUTABLE || proc->prosecdef ||
			!heap_attisnull(tup, Anum_pg_proc_proconfig, NULL);
	else if (proc->prolang == INTERNALlanguageId || proc->prolang == ClanguageId)
	{
		bool		isnull;
		Datum		src = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_prosrc, &isnull);
		char	   *name = isnull ? NULL : TextDatumGetCString(src);

		reads = name == NULL || strstr(name, "ts") || strstr(name, "xml") ||
			strstr(name, "config") || strstr(name, "setting");
		if (name)
			pfree(name);
	}
	ReleaseSysCache(tup);
	return reads;
}

/*
 * The walker of steward_migrate_expr_reads_text_search and
 * steward_migrate_expr_is_pure (context: the ExprLook): true as soon as a
 * node may read the setting, or is not pure.  Only the node kinds listed
 * are known to run nothing but the functions check_functions_in_node
 * names and the built-in functions of the built-in types of their values;
 * any other kind (a domain's checks, a subplan, a row's field), and any
 * value of a type made by a user or an extension (its functions may read
 * anything), may.  CURRENT_SCHEMA, CURRENT_DATE and their kin
 * (SQLValueFunction) read the search_path or the time zone: not pure.
 */
static bool
text_search_walker(Node *node, void *context)
{
	ExprLook	look = *(ExprLook *) context;

	if (node == NULL)
		return false;
	switch (nodeTag(node))
	{
		case T_List:
		case T_CaseWhen:
			return expression_tree_walker(node, text_search_walker, context);
		case T_SQLValueFunction:
			if (look == NOT_PURE)
				return true;
			break;
		case T_Var:
		case T_Const:
		case T_Param:
		case T_FuncExpr:
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
		case T_ScalarArrayOpExpr:
		case T_BoolExpr:
		case T_RelabelType:
		case T_CoerceViaIO:
		case T_ArrayCoerceExpr:
		case T_CollateExpr:
		case T_CaseExpr:
		case T_CaseTestExpr:
		case T_ArrayExpr:
		case T_CoalesceExpr:
		case T_NullTest:
		case T_BooleanTest:
			break;
		default:
			return true;
	}
	if (exprType(node) >= FirstNormalObjectId)
		return true;
	if (IsA(node, ScalarArrayOpExpr) &&
		((OidIsValid(((ScalarArrayOpExpr *) node)->hashfuncid) &&
		  text_search_reader(((ScalarArrayOpExpr *) node)->hashfuncid, context)) ||
		 (OidIsValid(((ScalarArrayOpExpr *) node)->negfuncid) &&
		  text_search_reader(((ScalarArrayOpExpr *) node)->negfuncid, context))))
		return true;
	if (check_functions_in_node(node, text_search_reader, context))
		return true;
	return expression_tree_walker(node, text_search_walker, context);
}

/*
 * May evaluating expr (a planned expression of steward_migrate_compile)
 * read default_text_search_config?  Conservative: false only when every
 * node of it is of a kind text_search_walker knows and every function it
 * calls is a built-in C function that does not read it; then the
 * dual-write trigger need not pin the setting for it
 * (steward_pin_output_settings_but), which would cost a catalog lookup
 * per row.  Reads the catalog cache; takes no lock; raises nothing.
 */
bool
steward_migrate_expr_reads_text_search(Node *expr)
{
	ExprLook	look = READS_TEXT_SEARCH;

	return text_search_walker(expr, &look);
}

/*
 * Is expr (a planned expression of steward_migrate_compile, or NULL) pure:
 * every node of a kind text_search_walker knows (no CURRENT_SCHEMA and
 * kin), every value of a built-in type, every function it calls a
 * built-in C function marked IMMUTABLE, without SET or SECURITY DEFINER?
 * Then it looks no name up, reads no table and no setting but those of
 * steward_output_settings_pinned, and runs no code a user wrote: the
 * dual-write trigger evaluates it as the owner without a GUC nest level
 * when those settings are at their pinned values (search_path,
 * row_security and default_text_search_config cannot change its value).
 * "(total_amount * 100)::bigint" is pure; now(), to_char(), a cast to or
 * from a date, a time or a regclass (STABLE) and every user function are
 * not.  Reads the catalog cache; takes no lock; raises nothing.
 */
bool
steward_migrate_expr_is_pure(Node *expr)
{
	ExprLook	look = NOT_PURE;

	return !text_search_walker(expr, &look);
}
