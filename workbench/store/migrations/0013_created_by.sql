-- Who asked for each generation (WORKBENCH_USER, the OS user, the sidebar name or the trusted
-- proxy header); NULL for generations logged before it was recorded.
ALTER TABLE generations ADD COLUMN created_by VARCHAR;
