// compose-check: `docker compose config` without a Docker engine, for
// scripts/check-image. It loads a compose file with compose-go (the loader
// docker compose itself uses): interpolation, validation against the
// Compose specification's JSON schema, normalisation; then checks what
// precis relies on: every service has a healthcheck, every depends_on with
// condition service_healthy names a service that has one, and volumes are
// named volumes declared at the top level (or bind mounts).
//
//	go run ./docker/compose-check docker/compose.yaml
//	    prints the normalised project (as docker compose config), exit 1 on error
//	go run ./docker/compose-check -healthcheck SERVICE docker/compose.yaml
//	    prints SERVICE's CMD-SHELL healthcheck command (for running it elsewhere)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

func main() {
	hcOf := flag.String("healthcheck", "", "print this service's CMD-SHELL healthcheck and exit")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: compose-check [-healthcheck SERVICE] FILE...")
		os.Exit(2)
	}
	opts, err := cli.NewProjectOptions(flag.Args(), cli.WithOsEnv, cli.WithName("precis"))
	if err != nil {
		fail("%v", err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		fail("%v", err)
	}
	if *hcOf != "" {
		s, ok := p.Services[*hcOf]
		if !ok || s.HealthCheck == nil || len(s.HealthCheck.Test) != 2 ||
			s.HealthCheck.Test[0] != "CMD-SHELL" {
			fail("service %s has no CMD-SHELL healthcheck", *hcOf)
		}
		fmt.Println(s.HealthCheck.Test[1])
		return
	}
	problems := check(p)
	for _, m := range problems {
		fmt.Fprintln(os.Stderr, m)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	b, err := p.MarshalYAML()
	if err != nil {
		fail("%v", err)
	}
	os.Stdout.Write(b)
}

func check(p *types.Project) []string {
	var out []string
	names := make([]string, 0, len(p.Services))
	for n := range p.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := p.Services[n]
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
			out = append(out, fmt.Sprintf("service %s: no healthcheck", n))
		}
		for dep, d := range s.DependsOn {
			t, ok := p.Services[dep]
			if !ok {
				out = append(out, fmt.Sprintf("service %s: depends on unknown %s", n, dep))
				continue
			}
			if d.Condition == types.ServiceConditionHealthy &&
				(t.HealthCheck == nil || t.HealthCheck.Disable) {
				out = append(out, fmt.Sprintf("service %s: waits for %s healthy, which has no healthcheck", n, dep))
			}
		}
		for _, v := range s.Volumes {
			switch v.Type {
			case types.VolumeTypeVolume:
				if _, ok := p.Volumes[v.Source]; !ok {
					out = append(out, fmt.Sprintf("service %s: volume %s is not declared", n, v.Source))
				}
			case types.VolumeTypeBind:
			default:
				out = append(out, fmt.Sprintf("service %s: %s mount %s", n, v.Type, v.Target))
			}
		}
	}
	return out
}

func fail(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "compose-check: "+f+"\n", a...)
	os.Exit(1)
}
