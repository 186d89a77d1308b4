-- 003_meter_key_exclusion.sql: the duplicate-window exclusion keyed by an integer meter id.
--
-- Measured on the 2-core machine, 100k readings: the gist exclusion over
-- (meter_serial text, dup_window) costs ~57 us per inserted row, over
-- (meter_id bigint, dup_window) ~16 us. Same rule, same constraint name (so
-- ON CONFLICT DO NOTHING and SQLSTATE 23P01 behave as before), 3.5x cheaper.

ALTER TABLE meters ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE meters ADD CONSTRAINT meters_id_key UNIQUE (id);
ALTER TABLE meters ADD CONSTRAINT meters_id_serial_key UNIQUE (id, meter_serial);

ALTER TABLE meter_readings ADD COLUMN meter_id bigint;
UPDATE meter_readings r SET meter_id = m.id FROM meters m WHERE m.meter_serial = r.meter_serial;
ALTER TABLE meter_readings ALTER COLUMN meter_id SET NOT NULL;
-- one foreign key ties both columns to the same meter (it replaces the serial-only one)
ALTER TABLE meter_readings ADD CONSTRAINT meter_readings_meter_fkey
    FOREIGN KEY (meter_id, meter_serial) REFERENCES meters (id, meter_serial);
ALTER TABLE meter_readings DROP CONSTRAINT meter_readings_meter_serial_fkey;

ALTER TABLE meter_readings DROP CONSTRAINT meter_readings_no_duplicates;
ALTER TABLE meter_readings ADD CONSTRAINT meter_readings_no_duplicates
    EXCLUDE USING gist (meter_id WITH =, dup_window WITH &&);

-- Writers that name only meter_serial (tools, tests, older SQL) get meter_id filled in;
-- ingestd supplies it, and the WHEN clause keeps the trigger off that path entirely.
CREATE FUNCTION meter_readings_fill_meter_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT id INTO NEW.meter_id FROM meters WHERE meter_serial = NEW.meter_serial;
    RETURN NEW;
END $$;
CREATE TRIGGER meter_readings_fill_meter_id BEFORE INSERT ON meter_readings
    FOR EACH ROW WHEN (NEW.meter_id IS NULL) EXECUTE FUNCTION meter_readings_fill_meter_id();
