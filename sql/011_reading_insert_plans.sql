-- 011_reading_insert_plans.sql: the per-statement meter check (010) without a pass over every meter.
--
-- Its NOT EXISTS is a join, and PostgreSQL chose per statement between probing meters by index and reading and
-- hashing the whole table; with a few thousand meters, and readily when meters has no statistics yet (a new
-- fleet, the bench), it hashed: a group commit of 15 readings with 2,000 meters spent 0.94 ms of PostgreSQL's
-- time there (auto_explain, log_analyze), 60 us per reading, more than the readings' own rows and indexes. A
-- correlated subquery is never turned into a join: it looks each inserted row's meter up by its id (the
-- unique index meters_id_serial_key): 0.014 ms for the same statement. Same rule, same SQLSTATE (23503) and
-- message: only the way PostgreSQL checks it changes.

CREATE OR REPLACE FUNCTION meter_readings_check_meters() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.meter_id, n.meter_serial INTO bad FROM new_readings n
        WHERE (SELECT m.meter_serial FROM meters m WHERE m.id = n.meter_id) IS DISTINCT FROM n.meter_serial
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'meter_readings: no meter % with id % (a reading names a registered meter)',
            bad.meter_serial, bad.meter_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
