#include "cli/output/table.h"

#include <algorithm>

namespace berth::cli {
namespace {

constexpr size_t kMinWidth = 20;
constexpr size_t kPadding = 3;

}  // namespace

std::string Table::Render() const {
  std::vector<size_t> widths;
  for (const Row& row : rows_) {
    if (row.note) continue;
    if (widths.size() < row.cells.size()) widths.resize(row.cells.size(), 0);
    for (size_t i = 0; i < row.cells.size(); ++i) {
      widths[i] = std::max(widths[i], std::max(row.cells[i].size() + kPadding, kMinWidth));
    }
  }
  std::string out;
  for (const Row& row : rows_) {
    if (row.note) {
      out += row.cells.front() + "\n";
      continue;
    }
    for (size_t i = 0; i < row.cells.size(); ++i) {
      out += row.cells[i];
      if (i + 1 < row.cells.size()) out.append(widths[i] - row.cells[i].size(), ' ');
    }
    out += '\n';
  }
  return out;
}

}  // namespace berth::cli
