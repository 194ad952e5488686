module gtrace/tools/gen-offsets

go 1.19
