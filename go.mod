module github.com/tidegate/tidegate

go 1.26.8
