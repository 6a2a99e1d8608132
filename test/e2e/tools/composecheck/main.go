// Command composecheck loads a Compose file the way `docker compose` does and prints the
// normalised project as JSON. It exists so that test/dockerCompose.test.ts can check
// docker-compose.yml without a Docker engine.
//
// We use compose-go, the library inside `docker compose`, and not a YAML parser with hand
// checks. compose-go validates the file against the compose-spec JSON schema, resolves
// anchors, merge keys and ${VAR} interpolation, checks consistency (for example that
// depends_on only names services that exist) and normalises short syntax into long syntax.
// A file it accepts is therefore one that `docker compose` accepts as well.
//
// Usage: composecheck COMPOSE_FILE
//
// Interpolation reads only this process's environment. Unlike the docker CLI, it reads no
// .env file, so that the output depends only on the compose file and on what the caller
// passes. Exit status: 0 and JSON on stdout when the file is valid, 1 and the loader's
// error on stderr when it is not, 2 on wrong usage.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck COMPOSE_FILE")
		os.Exit(2)
	}
	out, err := load(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "composecheck: %v\n", err)
		os.Exit(1)
	}
	if _, err := os.Stdout.Write(append(out, '\n')); err != nil {
		fmt.Fprintf(os.Stderr, "composecheck: %v\n", err)
		os.Exit(1)
	}
}

func load(file string) ([]byte, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	content, err := os.ReadFile(abs)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(abs)
	details := types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: abs, Content: content}},
		Environment: environment(),
	}
	project, err := loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		// Like `docker compose`: a top-level `name:` wins; otherwise the folder's name.
		o.SetProjectName(loader.NormalizeProjectName(filepath.Base(dir)), false)
	})
	if err != nil {
		return nil, err
	}
	return project.MarshalJSON()
}

// environment is this process's environment as a map, used for ${VAR} interpolation.
func environment() types.Mapping {
	env := types.Mapping{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}
