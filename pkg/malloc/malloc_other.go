//go:build !(cgo && linux)

package malloc

func settings() []Setting { return nil }
