#!/usr/bin/env bash
# The "Done when" check of issue 11: a separate Maven project (this directory's pom.xml: the BOM,
# peft-lora, peft-minilm, the CPU natives) compiles and runs the README's walkthrough (Main.java,
# identical to the README's block: ReadmeWalkthroughTest checks that), then measures the run-time
# class path without the natives and without peft-minilm's model jar.
#
#   (cd REPO && mvn -B -o -q install -DskipTests)   # the 0.1.0-SNAPSHOT artifacts, once
#   docs/consumer-check/run.sh [WORKDIR]            # default WORKDIR: /tmp/peft4j-consumer
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:-/tmp/peft4j-consumer}
rm -rf "$work" && mkdir -p "$work/src/main/java"
cp "$here/pom.xml" "$work/"
cp "$here/src/main/java/Main.java" "$work/src/main/java/"
# the walkthrough reads train.jsonl and test.jsonl from the working directory: the bundled reviews
cp "$repo"/peft-examples/src/main/resources/dev/peft4j/examples/data/fine-foods/{train,test}.jsonl "$work/"
cd "$work"
export DJL_OFFLINE=true
mvn -B -o -q compile dependency:build-classpath -Dmdep.outputFile=classpath.txt -DincludeScope=runtime
echo "== class path (runtime scope)"
tr ':' '\n' < classpath.txt | grep -v '^$' > jars.txt
lean=$(grep -v -e pytorch-native- -e peft-minilm -e langchain4j-embeddings-all-minilm jars.txt || true)
echo "all: $(wc -l < jars.txt) jars, $(du -cm $(cat jars.txt) | tail -1 | cut -f1) MB (du, MiB)"
echo "without natives and peft-minilm: $(echo "$lean" | wc -l) jars, $(echo "$lean" | xargs stat -c %s | awk '{s+=$1} END {printf "%.1f MB", s/1e6}')"
echo "== forbidden jars (must be none):"
grep -i -e junit -e xchart -e pdfbox -e jline -e progressbar jars.txt || echo "none"
echo "== running Main"
start=$(date +%s)
java -cp "target/classes:$(cat classpath.txt)" Main
echo "== Main ran in $(( $(date +%s) - start )) s"
