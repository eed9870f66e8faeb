#!/usr/bin/env bash
# The method comparison of docs/methods.md: trains every PEFT method on the fine-foods demo data
# (4,000 training / 1,000 test reviews, the same budget for each), one JVM per method under
# /usr/bin/time -v (peak RSS), then writes the markdown table and the accuracy chart.
#
#   mvn -B -o -q -pl peft-examples -am package -DskipTests
#   scripts/compare-methods.sh [RUN_DIR] [extra CompareMethods options; the table: --threads 1 --epochs 3]
#
# Methods: METHODS="lora ia3" scripts/compare-methods.sh limits the run. A method whose
# RUN_DIR/METHOD.json exists is skipped (delete it to rerun), so an interrupted run resumes.
# Writes RUN_DIR/methods-table.md and RUN_DIR/methods-accuracy.png; copy them into docs/.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR=${1:-compare-run}
shift || true
JAR=${JAR:-peft-examples/target/peft4j.jar}
[ -f "$JAR" ] || { echo "build first: mvn -B -o -q -pl peft-examples -am package -DskipTests" >&2; exit 1; }
METHODS=${METHODS:-"lora ia3 bottleneck bitfit prompt-tuning p-tuning prefix-tuning"}
mkdir -p "$RUN_DIR"
export DJL_OFFLINE=true
for m in $METHODS; do
  if [ -f "$RUN_DIR/$m.json" ]; then
    echo "$m: $RUN_DIR/$m.json exists, skipped"
    continue
  fi
  echo "$m: training ($(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg))"
  /usr/bin/time -v -o "$RUN_DIR/$m.time.txt" java -Xmx3g -cp "$JAR" dev.peft4j.examples.CompareMethods \
      --method "$m" --out "$RUN_DIR/$m.json" "$@" > "$RUN_DIR/$m.log" 2>&1 \
      || { echo "$m failed: see $RUN_DIR/$m.log" >&2; exit 1; }
  grep -E "accuracy" "$RUN_DIR/$m.log" | tail -1
done
java -cp "$JAR" dev.peft4j.examples.MethodsReport "$RUN_DIR" "$RUN_DIR/methods-table.md" \
    "$RUN_DIR/methods-accuracy.png"
