module github.com/kvpack/kvpack

go 1.26.8
