"""What the tests and the benches start instead of the outside world: loopback fakes of the
hosted APIs (`fakes`, `fake_judge`, `slow_gemini`) that answer only with shapes each provider
documents, synthetic scenes the judge's fake reads from pixels (`judge_scenes`, `judge_data`),
a throwaway PostgreSQL 15 cluster (`pg_cluster`) and a moto S3 server (`s3_server`) on the
loopback, and Debian's chromium settings (`chromium`). Never installed: the wheel ships
`workbench` only."""
