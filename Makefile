# Concord's two commands: `make run` starts the local cluster, `make test` runs every test.
.PHONY: run stop test build bench bench-ab bench-quick bench-fanout bench-presence bench-tiers bench-cells bench-moves bench-permissions bench-sends bench-files bench-peers soak clean status

run:
	@scripts/run.sh

stop:
	@scripts/stop.sh

status:
	@scripts/status.sh

test:
	@scripts/test.sh

build:
	swift build

# Benchmarks build in release mode and print their figures; they are not tests.
bench:
	@scripts/bench.sh

bench-fanout:
	@BENCH_ONLY=fanout scripts/bench.sh

bench-peers:
	@BENCH_ONLY=peers scripts/bench.sh

bench-permissions:
	@BENCH_ONLY=permissions scripts/bench.sh

bench-sends:
	@BENCH_ONLY=sends scripts/bench.sh

bench-files:
	@BENCH_ONLY=files scripts/bench.sh

bench-presence:
	@BENCH_ONLY=presence scripts/bench.sh

bench-tiers:
	@BENCH_ONLY=tiers scripts/bench.sh

bench-cells:
	@BENCH_ONLY=cells scripts/bench.sh

bench-moves:
	@BENCH_ONLY=moves scripts/bench.sh

# Two builds on one benchmark, alternating: make bench-ab A=dir B=dir TARGET=fanout ROUNDS=2
bench-ab:
	@scripts/bench_ab.py "$(A)" "$(B)" --target "$(or $(TARGET),fanout)" --rounds "$(or $(ROUNDS),2)"

bench-quick:
	@BENCH_SECONDS=5 BENCH_HISTORY=20000 scripts/bench.sh

# 30 minutes of mixed load with chaos, then an invariant checker (not in CI; SOAK_MINUTES=N).
soak:
	@scripts/soak.sh

clean:
	@scripts/stop.sh || true
	rm -rf .build var
