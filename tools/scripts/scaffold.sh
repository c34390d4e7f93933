#!/usr/bin/env bash
# Creates the boilerplate of one Nx project (lib, app or tool) with the workspace's conventions.
# usage: tools/scripts/scaffold.sh lib|app|tool <dir> <name> "<tags comma list>"
set -euo pipefail
kind=$1 dir=$2 name=$3 tags=$4
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mkdir -p "$dir/src"
up=$(realpath --relative-to="$dir" "$root")
tagjson=$(printf '%s' "$tags" | awk -F, '{for(i=1;i<=NF;i++){printf "%s\"%s\"", (i>1?", ":""), $i}}')
case $kind in
  lib) ptype=library; tsmain=tsconfig.lib.json ;;
  app|tool) ptype=application; tsmain=tsconfig.app.json ;;
esac
if [[ $kind == lib ]]; then
  build='"build": {
      "executor": "nx:run-commands",
      "outputs": [],
      "options": { "command": "tsc -p {projectRoot}/tsconfig.lib.json --noEmit" }
    },'
else
  build='"build": {
      "executor": "nx:run-commands",
      "outputs": ["{workspaceRoot}/dist/{projectRoot}"],
      "options": {
        "commands": [
          "tsc -p {projectRoot}/tsconfig.app.json --noEmit",
          "esbuild {projectRoot}/src/main.ts --bundle --platform=node --target=node24 --packages=external --sourcemap --log-level=warning --outfile=dist/{projectRoot}/main.js"
        ],
        "parallel": false
      }
    },
    "serve": {
      "executor": "nx:run-commands",
      "continuous": true,
      "options": { "command": "node --enable-source-maps dist/{projectRoot}/main.js" },
      "dependsOn": ["build"]
    },'
fi
[[ -f $dir/project.json ]] || cat > "$dir/project.json" <<JSON
{
  "name": "$name",
  "\$schema": "$up/node_modules/nx/schemas/project-schema.json",
  "sourceRoot": "$dir/src",
  "projectType": "$ptype",
  "tags": [$tagjson],
  "targets": {
    $build
    "lint": {
      "executor": "@nx/eslint:lint"
    },
    "test": {
      "executor": "@nx/jest:jest",
      "outputs": ["{workspaceRoot}/coverage/{projectRoot}"],
      "options": { "jestConfig": "{projectRoot}/jest.config.ts" }
    }
  }
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "$up/tsconfig.base.json",
  "files": [],
  "include": [],
  "references": [{ "path": "./$tsmain" }, { "path": "./tsconfig.spec.json" }]
}
JSON
cat > "$dir/$tsmain" <<JSON
{
  "extends": "./tsconfig.json",
  "compilerOptions": { "outDir": "$up/dist/out-tsc" },
  "include": ["src/**/*.ts"],
  "exclude": ["src/**/*.spec.ts", "src/**/*.itest.ts", "jest.config.ts"]
}
JSON
cat > "$dir/tsconfig.spec.json" <<JSON
{
  "extends": "./tsconfig.json",
  "compilerOptions": { "outDir": "$up/dist/out-tsc", "types": ["jest", "node"], "isolatedModules": true },
  "include": ["jest.config.ts", "jest.integration.config.ts", "src/**/*.ts", "test/**/*.ts"]
}
JSON
cat > "$dir/jest.config.ts" <<TS
export default {
  displayName: '$name',
  preset: '$up/jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '$up/coverage/$dir',
};
TS
[[ -f $dir/src/index.ts || $kind != lib ]] || echo "export {};" > "$dir/src/index.ts"
echo "scaffolded $kind $name at $dir"
