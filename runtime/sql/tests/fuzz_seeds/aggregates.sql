-- Seed of the SQL fuzz target: windows, group windows, GROUP BY, Top-N, DISTINCT, EXPLAIN.
CREATE TABLE t (k STRING, x BIGINT, d DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen');
CREATE TABLE sink (k STRING, n BIGINT, s DOUBLE, PRIMARY KEY (k) NOT ENFORCED)
  WITH ('connector' = 'upsert-kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'h:1',
        'key.format' = 'csv', 'value.format' = 'json');
EXPLAIN INSERT INTO sink SELECT k, count(*) FILTER (WHERE x > 1), AVG(CAST(x AS DOUBLE))
  FROM t GROUP BY k HAVING count(DISTINCT x) > 1;
INSERT INTO sink SELECT k, COUNT(*), MAX(d) FROM TABLE(CUMULATE(TABLE t, DESCRIPTOR(ts),
  INTERVAL '1' MINUTE, INTERVAL '1' HOUR)) GROUP BY k, window_start, window_end;
INSERT INTO sink SELECT k, x, d FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY x
  DESC, ts ASC) AS rn FROM t) WHERE rn <= 3 AND x > 0;
INSERT INTO sink SELECT DISTINCT k, x, 1.0 FROM t;
INSERT INTO sink SELECT k, COUNT(*), SUM(d) FROM t GROUP BY k, SESSION(ts, INTERVAL '5' MINUTE);
SELECT k, TUMBLE_START(ts, INTERVAL '1' HOUR), CASE WHEN x > 1 THEN NULL ELSE 'a' END
  FROM t GROUP BY k, x, TUMBLE(ts, INTERVAL '1' HOUR);
