-- Seed of the SQL fuzz target: joins of every kind, views, WITH, UNION ALL, SET.
SET 'parallelism.default' = '2';
SET 'table.exec.state.ttl' = '1 h';
CREATE TABLE person (id BIGINT, name STRING, `dateTime` TIMESTAMP(3), p AS PROCTIME(),
  WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND)
  WITH ('connector' = 'datagen', 'number-of-rows' = '10', 'fields.id.kind' = 'sequence',
        'fields.id.start' = '1', 'fields.id.end' = '10');
CREATE TABLE auction (id BIGINT, seller BIGINT, `dateTime` TIMESTAMP(3),
  WATERMARK FOR `dateTime` AS `dateTime`) WITH ('connector' = 'datagen', 'number-of-rows' = '5');
CREATE TABLE side (k BIGINT, v STRING) WITH ('connector' = 'filesystem', 'path' = 'side.csv',
  'format' = 'csv');
CREATE TABLE out1 (a BIGINT, b STRING, c BIGINT) WITH ('connector' = 'filesystem',
  'path' = 'out', 'format' = 'changelog-json');
CREATE VIEW v AS SELECT id, name FROM person WHERE name LIKE 'a%' OR id IN (1, 2, 3);
INSERT INTO out1 SELECT P.id, P.name, A.id FROM person P FULL JOIN auction A ON P.id = A.seller;
INSERT INTO out1 SELECT P.id, S.v, CAST(NULL AS BIGINT) FROM person AS P
  JOIN side FOR SYSTEM_TIME AS OF P.p AS S ON MOD(P.id, 10) = S.k;
INSERT INTO out1 SELECT L.id, L.name, R.id
  FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND)) L
  JOIN TABLE(TUMBLE(TABLE auction, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND)) R
  ON L.id = R.seller AND L.window_start = R.window_start AND L.window_end = R.window_end;
INSERT INTO out1 WITH w AS (SELECT id, name FROM v) SELECT id, name, 1 FROM w
  UNION ALL SELECT a.id, 'x', b.id FROM person a JOIN auction b ON a.id = b.id
  AND b.`dateTime` BETWEEN a.`dateTime` - INTERVAL '5' SECOND AND a.`dateTime`;
