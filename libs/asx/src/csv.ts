/**
 * Splits one CSV line. Tick Data trade and quote rows are plain numbers, so the common case is a bare split; quoted
 * fields (RFC 4180: "a, b" and "" for a quote) only appear in reference data such as company names.
 */
export function splitCsvLine(text: string): string[] {
  if (text.indexOf('"') < 0) return text.split(',');
  const out: string[] = [];
  let field = '';
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
        }
      } else {
        field += c;
      }
    } else if (c === '"') {
      inQuotes = true;
    } else if (c === ',') {
      out.push(field);
      field = '';
    } else {
      field += c;
    }
  }
  out.push(field);
  return out;
}

/** Header cell to a lookup key: "company id", "Company_ID" and " company-id " all become company_id. */
export function headerKey(cell: string): string {
  return cell
    .trim()
    .replace(/^\uFEFF/, '')
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}
