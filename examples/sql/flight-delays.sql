-- Flight delays in SQL (docs/sql.md): hourly delays per origin airport, and per state through a
-- lookup join with the airports table, from the January 2001 sample. Both INSERTs run as one
-- job (a statement set), reading the flights once.
--
--   sluice sql validate examples/sql/flight-delays.sql --plan   # check and show the plan
--   sluice local examples/sql/flight-delays.sql                 # run on a mini-cluster
--
-- Relative paths resolve against this file's directory.

SET 'parallelism.default' = '2';
SET 'pipeline.name' = 'flight-delays-sql';

CREATE TABLE flights (
  `date`       TIMESTAMP(3),
  delay        BIGINT,
  distance     BIGINT,
  origin       STRING,
  destination  STRING,
  proc_time AS PROCTIME(),
  WATERMARK FOR `date` AS `date` - INTERVAL '1' MINUTE
) WITH (
  'connector' = 'filesystem',
  'path' = '../data/flights-2001-01.csv.gz',
  'format' = 'csv',
  'csv.header' = 'true'
);

CREATE TABLE airports (
  iata STRING, name STRING, city STRING, state STRING, country STRING,
  latitude DOUBLE, longitude DOUBLE
) WITH (
  'connector' = 'filesystem',
  'path' = '../../../shared/data/airports.csv',
  'format' = 'csv',
  'csv.header' = 'true'
);

CREATE TABLE delays_by_origin (
  origin STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3),
  flights BIGINT, avg_delay DOUBLE, max_delay BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '../../out/sql-delays-by-origin',
  'format' = 'csv',
  'csv.header' = 'true'
);

CREATE TABLE delays_by_state (
  state STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3),
  flights BIGINT, avg_delay DOUBLE, max_delay BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '../../out/sql-delays-by-state',
  'format' = 'csv',
  'csv.header' = 'true'
);

-- Each flight with its origin's state (flights from airports not in the table are dropped).
CREATE VIEW flights_with_state AS
SELECT f.*, a.state
FROM flights AS f
JOIN airports FOR SYSTEM_TIME AS OF f.proc_time AS a ON f.origin = a.iata;

INSERT INTO delays_by_origin
SELECT origin, window_start, window_end,
       COUNT(*) AS flights, AVG(CAST(delay AS DOUBLE)) AS avg_delay, MAX(delay) AS max_delay
FROM TABLE(TUMBLE(TABLE flights, DESCRIPTOR(`date`), INTERVAL '1' HOUR))
GROUP BY origin, window_start, window_end;

INSERT INTO delays_by_state
SELECT state, window_start, window_end,
       COUNT(*), AVG(CAST(delay AS DOUBLE)), MAX(delay)
FROM TABLE(TUMBLE(TABLE flights_with_state, DESCRIPTOR(`date`), INTERVAL '1' HOUR))
GROUP BY state, window_start, window_end;
