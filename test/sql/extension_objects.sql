-- Every object of the pg_steward extension, one line each, described by
-- what a user depends on: its identity, definition, privileges, comment and
-- dump configuration.  test/t/012_upgrade.pl runs this in a database
-- upgraded with ALTER EXTENSION pg_steward UPDATE and in a fresh install and
-- requires the two outputs to be equal.  OIDs never appear: only names.
WITH ext AS (
    SELECT oid, extconfig, extcondition FROM pg_catalog.pg_extension
     WHERE extname = 'pg_steward'),
members AS (
    SELECT d.classid, d.objid, d.objsubid
      FROM pg_catalog.pg_depend d, ext
     WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass
       AND d.refobjid = ext.oid AND d.deptype = 'e'),
described AS (
    SELECT m.*, pg_catalog.pg_describe_object(m.classid, m.objid, m.objsubid) AS what
      FROM members m),
detail AS (
    -- functions and procedures: full definition, owner-independent ACL
    SELECT d.what, 'definition' AS aspect,
           pg_catalog.pg_get_functiondef(p.oid) AS value
      FROM described d JOIN pg_catalog.pg_proc p ON p.oid = d.objid
     WHERE d.classid = 'pg_catalog.pg_proc'::regclass
    UNION ALL
    SELECT d.what, 'acl', coalesce(p.proacl::text, 'default')
      FROM described d JOIN pg_catalog.pg_proc p ON p.oid = d.objid
     WHERE d.classid = 'pg_catalog.pg_proc'::regclass
    -- relations: kind, access method, columns, ACL
    UNION ALL
    SELECT d.what, 'relation',
           c.relkind::text || ' am=' || coalesce(am.amname, '-')
           || ' persistence=' || c.relpersistence::text
           || ' options=' || coalesce(c.reloptions::text, '-')
      FROM described d JOIN pg_catalog.pg_class c ON c.oid = d.objid
      LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
     WHERE d.classid = 'pg_catalog.pg_class'::regclass
    UNION ALL
    SELECT d.what, 'acl', coalesce(c.relacl::text, 'default')
      FROM described d JOIN pg_catalog.pg_class c ON c.oid = d.objid
     WHERE d.classid = 'pg_catalog.pg_class'::regclass
    UNION ALL
    SELECT d.what, 'column ' || lpad(a.attnum::text, 3, '0'),
           a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || coalesce(' default ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '')
           || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
           || CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END
           || coalesce(' collate ' || co.collname, '')
           || coalesce(' acl ' || a.attacl::text, '')
      FROM described d JOIN pg_catalog.pg_attribute a ON a.attrelid = d.objid
      LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
      LEFT JOIN pg_catalog.pg_collation co
             ON co.oid = a.attcollation AND a.attcollation <> 0
            AND co.collname <> 'default'
     WHERE d.classid = 'pg_catalog.pg_class'::regclass
       AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT d.what, 'view', pg_catalog.pg_get_viewdef(d.objid)
      FROM described d JOIN pg_catalog.pg_class c ON c.oid = d.objid
     WHERE d.classid = 'pg_catalog.pg_class'::regclass AND c.relkind IN ('v', 'm')
    UNION ALL
    SELECT d.what, 'index ' || i.relname, pg_catalog.pg_get_indexdef(x.indexrelid)
      FROM described d JOIN pg_catalog.pg_index x ON x.indrelid = d.objid
      JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
     WHERE d.classid = 'pg_catalog.pg_class'::regclass
    UNION ALL
    SELECT d.what, 'constraint ' || k.conname, pg_catalog.pg_get_constraintdef(k.oid)
      FROM described d JOIN pg_catalog.pg_constraint k ON k.conrelid = d.objid
     WHERE d.classid = 'pg_catalog.pg_class'::regclass
    UNION ALL
    SELECT d.what, 'trigger ' || t.tgname,
           pg_catalog.pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
      FROM described d JOIN pg_catalog.pg_trigger t ON t.tgrelid = d.objid
     WHERE d.classid = 'pg_catalog.pg_class'::regclass AND NOT t.tgisinternal
    UNION ALL
    SELECT d.what, 'policy ' || pol.polname,
           pol.polcmd::text || ' ' || pol.polpermissive::text || ' '
           || coalesce(pg_catalog.pg_get_expr(pol.polqual, pol.polrelid), '-') || ' '
           || coalesce(pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid), '-')
      FROM described d JOIN pg_catalog.pg_policy pol ON pol.polrelid = d.objid
     WHERE d.classid = 'pg_catalog.pg_class'::regclass
    UNION ALL
    SELECT d.what, 'row security',
           c.relrowsecurity::text || '/' || c.relforcerowsecurity::text
      FROM described d JOIN pg_catalog.pg_class c ON c.oid = d.objid
     WHERE d.classid = 'pg_catalog.pg_class'::regclass AND c.relkind = 'r'
    -- dump configuration
    UNION ALL
    SELECT d.what, 'config dump',
           coalesce((SELECT cond FROM ext,
                            unnest(ext.extconfig, ext.extcondition) u(rel, cond)
                      WHERE u.rel = d.objid), 'not dumped')
      FROM described d
     WHERE d.classid = 'pg_catalog.pg_class'::regclass
    -- event triggers
    UNION ALL
    SELECT d.what, 'event trigger',
           e.evtevent || ' ' || e.evtfoid::regprocedure::text || ' '
           || e.evtenabled::text || ' ' || coalesce(e.evttags::text, '-')
      FROM described d JOIN pg_catalog.pg_event_trigger e ON e.oid = d.objid
     WHERE d.classid = 'pg_catalog.pg_event_trigger'::regclass
    -- operator families: every operator and support function
    UNION ALL
    SELECT d.what, 'operator ' || ao.amopstrategy,
           ao.amoplefttype::regtype || ' ' || ao.amoprighttype::regtype || ' '
           || ao.amopopr::regoperator::text
      FROM described d JOIN pg_catalog.pg_amop ao ON ao.amopfamily = d.objid
     WHERE d.classid = 'pg_catalog.pg_opfamily'::regclass
    UNION ALL
    SELECT d.what, 'support ' || ap.amprocnum,
           ap.amproclefttype::regtype || ' ' || ap.amprocrighttype::regtype || ' '
           || ap.amproc::regprocedure::text
      FROM described d JOIN pg_catalog.pg_amproc ap ON ap.amprocfamily = d.objid
     WHERE d.classid = 'pg_catalog.pg_opfamily'::regclass
    UNION ALL
    SELECT d.what, 'opclass',
           oc.opcintype::regtype || ' default=' || oc.opcdefault
           || ' family=' || f.opfname
      FROM described d JOIN pg_catalog.pg_opclass oc ON oc.oid = d.objid
      JOIN pg_catalog.pg_opfamily f ON f.oid = oc.opcfamily
     WHERE d.classid = 'pg_catalog.pg_opclass'::regclass
    -- access methods
    UNION ALL
    SELECT d.what, 'access method', a.amtype::text || ' ' || a.amhandler::regproc::text
      FROM described d JOIN pg_catalog.pg_am a ON a.oid = d.objid
     WHERE d.classid = 'pg_catalog.pg_am'::regclass
    -- comments on anything, columns included
    UNION ALL
    SELECT d.what, 'comment ' || ds.objsubid, ds.description
      FROM described d JOIN pg_catalog.pg_description ds
        ON ds.classoid = d.classid AND ds.objoid = d.objid
    -- built-in rows the extension ships (not dumped, so they must match)
    UNION ALL
    SELECT 'builtin state machine ' || m.name, 'definition',
           m.states::text || ' ' || m.initial::text || ' ' || m.transitions::text
      FROM steward.machine_definitions m WHERE m.builtin
)
SELECT what, NULL AS aspect, NULL AS value FROM described
UNION ALL
SELECT what, aspect, value FROM detail
UNION ALL
SELECT 'extension pg_steward', 'comment',
       pg_catalog.obj_description(ext.oid, 'pg_extension') FROM ext
UNION ALL
SELECT 'schema steward', 'acl', n.nspacl::text
  FROM pg_catalog.pg_namespace n WHERE n.nspname = 'steward'
ORDER BY 1, 2 NULLS FIRST, 3;
