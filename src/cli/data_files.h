// Where ziq's built-in data (the sample corpus, the default model) lives: $ZIQ_DATA_DIR when set,
// else the source tree's data/ that the build was configured from, else data/ next to (or one
// level above) the executable, else share/ziq/data beside an installed bin/.
#pragma once

#include <string>

namespace ziq::cli {

std::string data_dir();              // throws input_error when none is found
std::string sample_corpus_path();    // data_dir()/sample/sample.jsonl

}  // namespace ziq::cli
