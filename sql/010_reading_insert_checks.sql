-- 010_reading_insert_checks.sql: what every reading's INSERT pays PostgreSQL for besides the row and its
-- indexes, made cheaper with the same guarantees.
--
-- 1. The lifecycle trigger (005) called its PL/pgSQL function, SECURITY DEFINER, for every inserted row, only
--    to ask whether the row is pending. A WHEN clause asks that without the call; the function still decides
--    on UPDATE, and only when the status changes.
-- 2. The foreign key (meter_id, meter_serial) -> meters (003) checked each row with a query that also took a
--    KEY SHARE lock on the meter's row: a write to the meter's heap page, a WAL record, and a multixact once
--    two transactions hold it, for every reading, on a small table every writer touches. The guarantee it gave
--    (a reading names a meter that exists, and goes on existing) now comes from:
--      - meters keep their keys: a meter is deactivated, never deleted (no DELETE, no TRUNCATE), and its id
--        and serial never change; so a reading that found its meter keeps it, and no lock is needed;
--      - one check per INSERT statement that every new row's (meter_id, meter_serial) is a meter;
--      - a reading never changes meter.
--    The check fails with SQLSTATE 23503 (foreign_key_violation) as the key did.
-- Measured with 200,000 of the bench's rows, 4 clients, 1,000 rows per plain INSERT (3 runs each): the table
-- as it was 4.99 s; with (1) alone 4.84 s; with both 4.55 s; a copy with neither trigger nor key 4.42 s.

DROP TRIGGER meter_readings_lifecycle ON meter_readings;
CREATE TRIGGER meter_readings_lifecycle_insert BEFORE INSERT ON meter_readings
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM 'pending') EXECUTE FUNCTION enforce_reading_transition();
CREATE TRIGGER meter_readings_lifecycle BEFORE UPDATE OF status ON meter_readings
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status) EXECUTE FUNCTION enforce_reading_transition();

CREATE FUNCTION meters_keep_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'meters: the id and serial of meter % never change (readings name them)', OLD.meter_serial
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RAISE EXCEPTION 'meters: meters are deactivated (active = false), never deleted (readings name them)'
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER meters_no_delete BEFORE DELETE ON meters FOR EACH ROW EXECUTE FUNCTION meters_keep_keys();
CREATE TRIGGER meters_no_truncate BEFORE TRUNCATE ON meters FOR EACH STATEMENT EXECUTE FUNCTION meters_keep_keys();
CREATE TRIGGER meters_keep_keys BEFORE UPDATE OF id, meter_serial ON meters
    FOR EACH ROW WHEN (NEW.id IS DISTINCT FROM OLD.id OR NEW.meter_serial IS DISTINCT FROM OLD.meter_serial)
    EXECUTE FUNCTION meters_keep_keys();

CREATE FUNCTION meter_readings_check_meters() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.meter_id, n.meter_serial INTO bad FROM new_readings n
        WHERE NOT EXISTS (SELECT 1 FROM meters m WHERE m.id = n.meter_id AND m.meter_serial = n.meter_serial)
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'meter_readings: no meter % with id % (a reading names a registered meter)',
            bad.meter_serial, bad.meter_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER meter_readings_check_meters AFTER INSERT ON meter_readings
    REFERENCING NEW TABLE AS new_readings FOR EACH STATEMENT EXECUTE FUNCTION meter_readings_check_meters();

CREATE FUNCTION meter_readings_keep_meter() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'meter_readings: reading % stays with meter %', OLD.id, OLD.meter_serial
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER meter_readings_keep_meter BEFORE UPDATE OF meter_id, meter_serial ON meter_readings
    FOR EACH ROW WHEN (NEW.meter_id IS DISTINCT FROM OLD.meter_id OR NEW.meter_serial IS DISTINCT FROM OLD.meter_serial)
    EXECUTE FUNCTION meter_readings_keep_meter();

-- Every reading names a meter already (the key held until here), so dropping it loses nothing.
ALTER TABLE meter_readings DROP CONSTRAINT meter_readings_meter_fkey;
