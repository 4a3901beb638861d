/*-------------------------------------------------------------------------
 *
 * rowkey.c
 *	  Describe a row by its key for error messages: "(order_id)=(42)".
 *
 * Uses the primary key, else the replica identity index.  Like
 * BuildIndexValueDescription, it shows values only to a user who may read
 * them (no row-level security on the table for that user, and SELECT on
 * the table or on every key column); otherwise the caller gets NULL and
 * leaves the key out of the message.  steward_column_readable() applies
 * the same rule to the stored version, sequence or state a message would
 * reveal: a role with UPDATE but not SELECT on a column must not learn its
 * value from an error.  Only error paths call these, so the index open and
 * output-function calls cost nothing in the common case.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/tupconvert.h"
#include "catalog/partition.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/rls.h"

#include "tableam/rules.h"

/*
 * May the current user read column attnum of rel (in every row)?  Not when
 * row-level security applies to it; else with SELECT on the table or on the
 * column.  Reads the catalog caches; no lock (rel is open and locked by the
 * caller); raises nothing for a column of rel.
 */
bool
steward_column_readable(Relation rel, AttrNumber attnum)
{
	Oid			relid = RelationGetRelid(rel);
	Oid			userid = GetUserId();

	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		return false;
	return pg_class_aclcheck(relid, userid, ACL_SELECT) == ACLCHECK_OK ||
		pg_attribute_aclcheck(relid, attnum, userid, ACL_SELECT) == ACLCHECK_OK;
}

static bool
may_read_columns(Relation rel, Relation index)
{
	Oid			relid = RelationGetRelid(rel);
	Oid			userid = GetUserId();

	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		return false;
	if (pg_class_aclcheck(relid, userid, ACL_SELECT) == ACLCHECK_OK)
		return true;
	for (int i = 0; i < index->rd_index->indnkeyatts; i++)
	{
		AttrNumber	attnum = index->rd_index->indkey.values[i];

		if (pg_attribute_aclcheck(relid, attnum, userid, ACL_SELECT) != ACLCHECK_OK)
			return false;
	}
	return true;
}

static void
append_value(StringInfo buf, TupleDesc desc, HeapTuple tuple, AttrNumber attnum)
{
	bool		isnull;
	Datum		value = heap_getattr(tuple, attnum, desc, &isnull);
	Oid			typoutput;
	bool		typisvarlena;

	if (isnull)
	{
		appendStringInfoString(buf, "null");
		return;
	}
	getTypeOutputInfo(TupleDescAttr(desc, attnum - 1)->atttypid,
					  &typoutput, &typisvarlena);
	appendStringInfoString(buf, OidOutputFunctionCall(typoutput, value));
}

/*
 * Column number in origin->rel of column attnum of the relation a rule
 * checks (see StewardRowOrigin).  Partitions of one table share their
 * columns by name, so every checked column has one.  No lock; raises
 * nothing.
 */
AttrNumber
steward_origin_attnum(const StewardRowOrigin *origin, AttrNumber attnum)
{
	if (origin->map == NULL)
		return attnum;
	Assert(attnum >= 1 && attnum <= origin->map->maplen);
	return origin->map->attnums[attnum - 1];
}

/*
 * steward_row_key_desc of origin's row in its relation: AccessShareLock on
 * the key index, released before returning; raises what the key types'
 * output functions raise.
 */
char *
steward_origin_key_desc(const StewardRowOrigin *origin)
{
	return steward_row_key_desc(origin->rel, origin->tuple);
}

/*
 * For an error about origin's row whose column attnum (of the checked
 * relation) the user may not read in origin's relation: when that is a
 * partition and the user may read the column in one of its partitioned
 * ancestors (the table an application writes through, where it has its
 * rights), the nearest such ancestor, opened with AccessShareLock (the
 * caller raises an error at once, which closes it), with *anc_attnum the
 * column's number there and *key the row's key there (NULL when the user
 * may not read it).  As core reports a partition's constraint errors
 * against the table the statement named when the role may read it
 * (ExecConstraints, review20 F6).  Returns NULL otherwise.  Runs the key
 * types' output functions.
 */
Relation
steward_origin_readable_ancestor(const StewardRowOrigin *origin, AttrNumber attnum,
								 AttrNumber *anc_attnum, char **key)
{
	Relation	rel = origin->rel;
	AttrNumber	oattnum = steward_origin_attnum(origin, attnum);
	const char *colname;
	List	   *ancestors;
	ListCell   *lc;

	if (!rel->rd_rel->relispartition)
		return NULL;
	colname = NameStr(TupleDescAttr(RelationGetDescr(rel), oattnum - 1)->attname);
	ancestors = steward_partition_ancestors(RelationGetRelid(rel));
	foreach(lc, ancestors)
	{
		Relation	anc = relation_open(lfirst_oid(lc), AccessShareLock);
		AttrNumber	a = get_attnum(RelationGetRelid(anc), colname);
		TupleConversionMap *map;
		HeapTuple	tuple;

		if (a == InvalidAttrNumber || !steward_column_readable(anc, a))
		{
			relation_close(anc, AccessShareLock);
			continue;
		}
		map = convert_tuples_by_name(RelationGetDescr(rel), RelationGetDescr(anc));
		tuple = map ? execute_attr_map_tuple(origin->tuple, map) : origin->tuple;
		*anc_attnum = a;
		*key = steward_row_key_desc(anc, tuple);
		return anc;
	}
	return NULL;
}

/*
 * The relation an error about column attnum (of the checked relation) of
 * origin's row names, with *target_attnum the column's number there, *key
 * the row's key there (NULL when the user may not read it) and *readable
 * whether the user may read the column there (the error may then show the
 * stored value): origin's relation, or, when the user may not read the
 * column in it, the nearest partitioned ancestor where the user may
 * (steward_origin_readable_ancestor: the table an application writes
 * through), as the illegal transition, undeclared state and version errors
 * do.  Error paths only: opens that ancestor with AccessShareLock (the
 * caller's error closes it) and the key's index (released at once); runs
 * the key types' output functions.
 */
Relation
steward_origin_error_target(const StewardRowOrigin *origin, AttrNumber attnum,
							AttrNumber *target_attnum, char **key, bool *readable)
{
	AttrNumber	oattnum = steward_origin_attnum(origin, attnum);
	Relation	anc;

	*readable = steward_column_readable(origin->rel, oattnum);
	if (!*readable)
	{
		anc = steward_origin_readable_ancestor(origin, attnum, target_attnum, key);
		if (anc != NULL)
		{
			*readable = true;
			return anc;
		}
	}
	*target_attnum = oattnum;
	*key = steward_origin_key_desc(origin);
	return origin->rel;
}

/*
 * The table a role wrote when a write to partition "rel" is refused for
 * what rel is, not for a column of the row (the state-rule cap, two version
 * columns): rel when the user has any of
 * SELECT, INSERT, UPDATE on it (or it is no partition), else the nearest
 * partitioned ancestor where the user has one (the table an application
 * writes through), else rel.  As the state errors name that table to a role
 * that may read the column only there (steward_origin_error_target).  Reads
 * the ancestors' ACLs through the syscache, no lock.
 */
Oid
steward_table_written(Relation rel)
{
	const AclMode any = ACL_SELECT | ACL_INSERT | ACL_UPDATE;
	List	   *ancestors;
	ListCell   *lc;
	Oid			result = RelationGetRelid(rel);

	if (!rel->rd_rel->relispartition ||
		pg_class_aclcheck(result, GetUserId(), any) == ACLCHECK_OK)
		return result;
	ancestors = steward_partition_ancestors(result);
	foreach(lc, ancestors)
		if (pg_class_aclcheck(lfirst_oid(lc), GetUserId(), any) == ACLCHECK_OK)
		{
			result = lfirst_oid(lc);
			break;
		}
	list_free(ancestors);
	return result;
}

/*
 * "(order_id)=(42)" for tuple of rel by its primary key (else replica
 * identity), for an error's DETAIL; NULL when there is no key or the user
 * may not read its columns (BuildIndexValueDescription's rule).  Opens the
 * index with AccessShareLock; runs the types' output functions.
 */
char *
steward_row_key_desc(Relation rel, HeapTuple tuple)
{
	Oid			indexoid = RelationGetPrimaryKeyIndex(rel);
	Relation	index;
	TupleDesc	desc = RelationGetDescr(rel);
	StringInfoData buf;
	int			nkeys;

	if (!OidIsValid(indexoid))
		indexoid = RelationGetReplicaIndex(rel);
	if (!OidIsValid(indexoid))
		return NULL;

	index = index_open(indexoid, AccessShareLock);
	if (!may_read_columns(rel, index))
	{
		index_close(index, AccessShareLock);
		return NULL;
	}

	nkeys = index->rd_index->indnkeyatts;
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '(');
	for (int i = 0; i < nkeys; i++)
	{
		AttrNumber	attnum = index->rd_index->indkey.values[i];

		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf,
							   quote_identifier(NameStr(TupleDescAttr(desc, attnum - 1)->attname)));
	}
	appendStringInfoString(&buf, ")=(");
	for (int i = 0; i < nkeys; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		append_value(&buf, desc, tuple, index->rd_index->indkey.values[i]);
	}
	appendStringInfoChar(&buf, ')');

	index_close(index, AccessShareLock);
	return buf.data;
}
