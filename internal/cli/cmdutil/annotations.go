package cmdutil

import "github.com/spf13/cobra"

// AnnotationSkipConfig, set to "true" on a command, makes the root skip
// loading the configuration before running it (completion scripts need no
// configuration, and must work while it is broken).
const AnnotationSkipConfig = "artstore/skip-config"

// SkipConfig marks cmd with AnnotationSkipConfig.
func SkipConfig(cmd *cobra.Command) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[AnnotationSkipConfig] = "true"
}

// SkipsConfig reports whether cmd is marked with AnnotationSkipConfig.
func SkipsConfig(cmd *cobra.Command) bool {
	return cmd.Annotations[AnnotationSkipConfig] == "true"
}
