#pragma once
// Aligned text tables as crictl prints them (Go's tabwriter with minwidth 20, padding 3):
// every column but the last is padded to max(widest cell + 3, 20) characters.

#include <string>
#include <vector>

namespace berth::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back({std::move(header), false}); }

  void AddRow(std::vector<std::string> cells) { rows_.push_back({std::move(cells), false}); }
  // A line printed as is after the rows before it, not part of the column layout (e.g. the
  // error of a failed plugin beneath its row).
  void AddNote(std::string line) { rows_.push_back({{std::move(line)}, true}); }

  // The table, one line per row, each ending with a newline. Widths count bytes, which is
  // what tabwriter does for the ASCII that IDs, names and paths are made of.
  std::string Render() const;

 private:
  struct Row {
    std::vector<std::string> cells;
    bool note;
  };
  std::vector<Row> rows_;
};

}  // namespace berth::cli
