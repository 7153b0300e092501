package cmdutil

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/pkg/client"
)

// CompletionTimeout bounds a completion's work: a store that cannot answer
// in time (an unreachable daemon, a log locked by a long write) gives no
// candidates rather than a shell that hangs.
const CompletionTimeout = time.Second

// completionLimit is how many candidates a completion asks for.
const completionLimit = 200

// CompleteRef returns a ValidArgsFunction that completes the first
// argument, an artifact reference, from the store: names by prefix (a
// directory of names as "dir/", with no space after it), and, after
// "name:", its versions and tags. Anything that fails (no store yet, a
// broken config, the timeout) gives no candidates and prints nothing: a
// completion must never write into the shell.
func CompleteRef(f *Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 || f.CompleteClient == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cands := completeRefs(cmd.Context(), f.CompleteClient, toComplete)
		dir := cobra.ShellCompDirectiveNoFileComp
		for _, c := range cands {
			if strings.HasSuffix(c, "/") {
				dir |= cobra.ShellCompDirectiveNoSpace
			}
		}
		return cands, dir
	}
}

// completeRefs asks the store for the candidates of partial, giving up
// after CompletionTimeout whatever the store is doing.
func completeRefs(ctx context.Context, open func(context.Context) (client.Store, error), partial string) []string {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, CompletionTimeout)
	defer cancel()
	done := make(chan []string, 1)
	go func() {
		var out []string
		defer func() {
			_ = recover() // a completion never crashes the shell's command line either
			done <- out
		}()
		store, err := open(ctx)
		if err != nil {
			return
		}
		defer store.Close()
		c, ok := store.(client.Completer)
		if !ok {
			return
		}
		out, _ = c.Complete(ctx, partial, completionLimit)
	}()
	select {
	case out := <-done:
		return out
	case <-ctx.Done():
		return nil
	}
}
