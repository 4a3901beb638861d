-- Settings without units in their names (issue 19).  The times take
-- PostgreSQL's units, a bare number in the unit the setting is shown in;
-- the 0.1 names stay as deprecated aliases: one takes effect while the new
-- name is left at its default, and setting it says it is deprecated.
-- steward.setting_value() reads the value in effect as a number in the
-- setting's base unit.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;     -- so that the file also runs alone
RESET client_min_messages;

-- The new names, with units and bare numbers.
SHOW steward.slow_query_threshold;
SET steward.slow_query_threshold = '250ms';
SHOW steward.slow_query_threshold;
SET steward.slow_query_threshold = '2s';
SHOW steward.slow_query_threshold;
SET steward.slow_query_threshold = 30;          -- ms
SHOW steward.slow_query_threshold;
SELECT steward.setting_value('steward.slow_query_threshold');
SHOW steward.sample_interval;
SELECT unit, context FROM pg_settings WHERE name = 'steward.sample_interval';
SHOW steward.rto;
SET steward.rto = '2min';
SHOW steward.rto;
SET steward.rto = 90;                           -- seconds
SHOW steward.rto;
SELECT steward.setting_value('steward.rto');
SET steward.rpo = '1h';
SHOW steward.rpo;
SELECT steward.setting_value('steward.rpo');
SET steward.health_replication_lag_warn = '2s';
SET steward.health_replication_lag_critical = '250ms';
SHOW steward.health_replication_lag_warn;
SHOW steward.health_replication_lag_critical;
SELECT steward.setting_value('steward.health_replication_lag_warn'),
       steward.setting_value('steward.health_replication_lag_critical');
SET steward.rto = '-1s';
RESET ALL;

-- drill_max_age and backup_max_age take units too; shown, as in 0.1, in
-- seconds (0.1's health view reads them as numbers).
SHOW steward.drill_max_age;
SET steward.drill_max_age = '2d';
SHOW steward.drill_max_age;
SET steward.backup_max_age = 3600;              -- seconds
SHOW steward.backup_max_age;
SELECT steward.setting_value('steward.drill_max_age'), steward.setting_value('steward.backup_max_age');
SELECT name, unit, setting FROM pg_settings
 WHERE name IN ('steward.drill_max_age', 'steward.backup_max_age') ORDER BY name;
RESET ALL;

-- The 0.1 names still work, say they are deprecated, and take effect
-- while the new name is left at its default.
SET steward.slow_query_ms = 40;
SHOW steward.slow_query_ms;
SHOW steward.slow_query_threshold;
SELECT steward.setting_value('steward.slow_query_threshold'), steward.setting_value('steward.slow_query_ms');
SET steward.rto_seconds = 60;
SHOW steward.rto_seconds;
SELECT steward.setting_value('steward.rto'), steward.setting_value('steward.rto_seconds');
SET steward.rpo_seconds = '2min';
SHOW steward.rpo_seconds;
SELECT steward.setting_value('steward.rpo');
SET steward.health_replication_lag_s_warn = 5;
SET steward.health_replication_lag_s_critical = 7;
SHOW steward.health_replication_lag_s_warn;
SHOW steward.health_replication_lag_s_critical;
SELECT "check", warn_threshold, critical_threshold FROM steward.health
 WHERE "check" IN ('replication_lag_s', 'restore_drill_duration_s', 'recovery_point_s')
 ORDER BY "check";

-- Both set: the new name wins, in SQL (steward.health) as in C.
SET steward.rto = '5min';
SET steward.health_replication_lag_warn = 20;
SELECT steward.setting_value('steward.rto'), steward.setting_value('steward.rto_seconds');
SELECT "check", warn_threshold, critical_threshold FROM steward.health
 WHERE "check" IN ('replication_lag_s', 'restore_drill_duration_s')
 ORDER BY "check";
SET steward.slow_query_threshold = '1s';
SELECT steward.setting_value('steward.slow_query_threshold');
-- Back to its default, the new name gives way again to the 0.1 one.
RESET steward.rto;
SELECT steward.setting_value('steward.rto');
RESET ALL;
SELECT steward.setting_value('steward.rto');

-- A transaction rolled back takes the 0.1 value with it.
BEGIN;
SET LOCAL steward.rto_seconds = 42;
SELECT steward.setting_value('steward.rto');
ROLLBACK;
SELECT steward.setting_value('steward.rto');

-- The 0.1 names are hidden from SHOW ALL and the sample file.
SELECT name FROM pg_settings
 WHERE name IN ('steward.slow_query_ms', 'steward.sample_interval_ms', 'steward.rto_seconds',
                'steward.rpo_seconds', 'steward.health_replication_lag_s_warn',
                'steward.health_replication_lag_s_critical', 'steward.health_p99_ms_warn',
                'steward.health_p99_ms_critical', 'steward.health_runway_days_warn',
                'steward.health_runway_days_critical');

-- The p99 thresholds take times in ms (a bare number is ms), the runway
-- thresholds in seconds like the other times (a bare number is seconds,
-- SHOW picks the largest unit that fits); steward.health compares the
-- runway in days.
SELECT name, unit, setting FROM pg_settings
 WHERE name IN ('steward.health_p99_warn', 'steward.health_p99_critical',
                'steward.health_runway_warn', 'steward.health_runway_critical',
                'steward.capacity_sample_interval', 'steward.capacity_window')
 ORDER BY name;
SHOW steward.health_p99_warn;
SHOW steward.health_p99_critical;
SET steward.health_p99_warn = '150ms';
SET steward.health_p99_critical = '1.5s';
SHOW steward.health_p99_critical;
SET steward.health_p99_warn = 120;              -- ms
SHOW steward.health_p99_warn;
SHOW steward.health_runway_warn;
SHOW steward.health_runway_critical;
SET steward.health_runway_warn = '14d';
SET steward.health_runway_critical = 86400;     -- seconds
SHOW steward.health_runway_critical;
SELECT steward.setting_value('steward.health_p99_warn'), steward.setting_value('steward.health_p99_critical'),
       steward.setting_value('steward.health_runway_warn'), steward.setting_value('steward.health_runway_critical');
SELECT "check", warn_threshold, critical_threshold FROM steward.health
 WHERE "check" IN ('p99_latency_ms', 'capacity_runway_days') ORDER BY "check";
SET steward.health_runway_warn = '-1d';
-- steward.setting_value() has every digit, SHOW six.
SET steward.health_runway_warn = 1234567;
SHOW steward.health_runway_warn;
SELECT steward.setting_value('steward.health_runway_warn');
RESET ALL;

-- The capacity sampling interval and window take units; shown, as in 0.1,
-- in seconds, which 0.1's steward._capacity_sample() (called by the purge
-- worker in a database not yet updated) reads as a number.
SHOW steward.capacity_sample_interval;
SHOW steward.capacity_window;
SET steward.capacity_sample_interval = '10min';
SET steward.capacity_window = '30d';
SHOW steward.capacity_sample_interval;
SHOW steward.capacity_window;
SELECT steward.setting_value('steward.capacity_sample_interval'), steward.setting_value('steward.capacity_window'),
       current_setting('steward.capacity_window')::float8 AS as_0_1_reads_it;
SET steward.capacity_window = 1234567;          -- seconds
SHOW steward.capacity_window;
RESET ALL;

-- Their 0.1 names: the p99 ones in ms (units accepted, shown bare), the
-- runway ones a plain number of days as in 0.1; steward.setting_value()
-- gives the value in effect in the new name's unit.
SET steward.health_p99_ms_warn = 300;
SET steward.health_p99_ms_critical = '2s';
SHOW steward.health_p99_ms_critical;
SET steward.health_runway_days_warn = 10;
SET steward.health_runway_days_critical = 2.5;
SHOW steward.health_runway_days_warn;
SET steward.health_runway_days_warn = '10d';
SELECT steward.setting_value('steward.health_p99_warn'), steward.setting_value('steward.health_p99_ms_critical'),
       steward.setting_value('steward.health_runway_warn'),
       steward.setting_value('steward.health_runway_days_critical');
SELECT "check", warn_threshold, critical_threshold FROM steward.health
 WHERE "check" IN ('p99_latency_ms', 'capacity_runway_days') ORDER BY "check";
-- Both set: the new name wins.
SET steward.health_p99_warn = '100ms';
SET steward.health_runway_critical = '1d';
SELECT steward.setting_value('steward.health_p99_ms_warn'), steward.setting_value('steward.health_runway_days_critical');
SELECT "check", warn_threshold, critical_threshold FROM steward.health
 WHERE "check" IN ('p99_latency_ms', 'capacity_runway_days') ORDER BY "check";
RESET ALL;
SELECT "check", warn_threshold, critical_threshold FROM steward.health
 WHERE "check" IN ('p99_latency_ms', 'capacity_runway_days') ORDER BY "check";

-- steward.setting_value() reads pg_steward's numeric settings only.
SELECT steward.setting_value('steward.health_window');
SELECT steward.setting_value('work_mem');
SELECT steward.setting_value('steward.no_such_setting');
SELECT steward.setting_value('steward.track');
SELECT steward.setting_value(NULL);
