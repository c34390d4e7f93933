#!/usr/bin/env bash
# Adds an `integration` target (jest over src/**/*.itest.ts against the real local infrastructure) to a project.
set -euo pipefail
dir=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
up=$(realpath --relative-to="$dir" "$root")
name=$(node -p "require('./$dir/project.json').name")
cat > "$dir/jest.integration.config.ts" <<TS
export default {
  displayName: '$name:integration',
  preset: '$up/jest.integration.preset.js',
};
TS
node -e "
const fs=require('fs');const p='$dir/project.json';const j=JSON.parse(fs.readFileSync(p,'utf8'));
j.targets.integration={executor:'@nx/jest:jest',options:{jestConfig:'{projectRoot}/jest.integration.config.ts',runInBand:true}};
fs.writeFileSync(p, JSON.stringify(j,null,2)+'\n');"
echo "integration target added to $name"
