#!/usr/bin/env bash
# The "Done when" check of issue 11: a separate Maven project (this directory's pom.xml: the BOM,
# peft-lora, peft-minilm, the CPU natives) compiles and runs the README's walkthrough (Main.java,
# identical to the README's block: ReadmeWalkthroughTest checks that), then measures the run-time
# class path without the natives and without peft-minilm's model jar.
#
#   (cd REPO && mvn -B -o -q install -DskipTests)   # the 0.1.0-SNAPSHOT artifacts, once
#   docs/consumer-check/run.sh [WORKDIR]            # default WORKDIR: /tmp/peft4j-consumer
#
# Environment: MAVEN_REPO=DIR uses that local repository (-Dmaven.repo.local, e.g. a private copy
# the artifacts were installed into); REVIEWS=N copies only the first N training and N/4 test
# reviews (the code stays the README's; default: all 4,000 and 1,000).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:-/tmp/peft4j-consumer}
rm -rf "$work" && mkdir -p "$work/src/main/java"
cp "$here/pom.xml" "$work/"
cp "$here/src/main/java/Main.java" "$work/src/main/java/"
# the walkthrough reads train.jsonl and test.jsonl from the working directory: the bundled reviews
data="$repo/peft-examples/src/main/resources/dev/peft4j/examples/data/fine-foods"
if [ -n "${REVIEWS:-}" ]; then
  head -n "$REVIEWS" "$data/train.jsonl" > "$work/train.jsonl"
  head -n $(( REVIEWS / 4 )) "$data/test.jsonl" > "$work/test.jsonl"
else
  cp "$data/train.jsonl" "$data/test.jsonl" "$work/"
fi
cd "$work"
export DJL_OFFLINE=true
mvn -B -o -q ${MAVEN_REPO:+-Dmaven.repo.local=$MAVEN_REPO} compile dependency:build-classpath -Dmdep.outputFile=classpath.txt -DincludeScope=runtime
echo "== class path (runtime scope)"
tr ':' '\n' < classpath.txt | grep -v '^$' > jars.txt
lean=$(grep -v -e pytorch-native- -e peft-minilm -e langchain4j-embeddings-all-minilm jars.txt || true)
mb() { xargs stat -c %s | awk '{s+=$1} END {printf "%.1f MB", s/1e6}'; }
echo "all: $(wc -l < jars.txt) jars, $(mb < jars.txt)"
echo "without natives and peft-minilm: $(echo "$lean" | wc -l) jars, $(echo "$lean" | mb)"
echo "== forbidden jars (must be none):"
grep -i -e junit -e xchart -e pdfbox -e jline -e progressbar jars.txt || echo "none"
echo "== running Main"
start=$(date +%s)
echo "$(wc -l < train.jsonl) training and $(wc -l < test.jsonl) test reviews; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
java -cp "target/classes:$(cat classpath.txt)" Main
echo "== Main ran in $(( $(date +%s) - start )) s"
