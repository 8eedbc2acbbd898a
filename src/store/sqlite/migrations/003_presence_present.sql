-- Retained presence on the wildcard reads the users of one domain who are not offline
-- (SPEC §3). A partial index holds only those rows, so a join costs what is present, not
-- every user the domain ever had.
CREATE INDEX presence_present ON presence (domain_id, userid) WHERE status <> 'offline';
