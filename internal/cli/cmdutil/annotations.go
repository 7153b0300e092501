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

// AnnotationOutputOnly, set to "true" on a command, makes the root load
// only the output switches (flags and environment) before running it, not
// the config file: the command reads nothing else (version), so a broken
// config file must not stop it.
const AnnotationOutputOnly = "artstore/output-only"

// OutputOnly marks cmd with AnnotationOutputOnly.
func OutputOnly(cmd *cobra.Command) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[AnnotationOutputOnly] = "true"
}

// IsOutputOnly reports whether cmd is marked with AnnotationOutputOnly.
func IsOutputOnly(cmd *cobra.Command) bool {
	return cmd.Annotations[AnnotationOutputOnly] == "true"
}
