/**
 * Finds types that the public API mentions but does not export (api-extractor's "forgotten
 * export"): a user can then see a type in a signature yet cannot name it.
 */
import ts from 'typescript';

/** A type the public API mentions without exporting it: its name, where it is, who mentions it. */
export interface ForgottenExport {
  readonly name: string;
  readonly declaredIn: string;
  readonly mentionedBy: string;
}

const isPrivate = (node: ts.Node): boolean =>
  (ts.canHaveModifiers(node) &&
    (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.PrivateKeyword)) ||
  ((ts.isPropertyDeclaration(node) || ts.isMethodDeclaration(node)) &&
    node.name !== undefined &&
    ts.isPrivateIdentifier(node.name));

/**
 * The forgotten exports of the declaration files reachable from `entries` (`.d.ts` paths), by
 * checking every type reference in the public declarations of what each entry exports. Types
 * declared outside `packageDir` (Node's, dependencies') are not this package's to export.
 */
export function findForgottenExports(entries: readonly string[], packageDir: string): ForgottenExport[] {
  const program = ts.createProgram([...entries], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const resolve = (symbol: ts.Symbol): ts.Symbol =>
    symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;

  const exported = new Set<ts.Symbol>();
  const roots: ts.Symbol[] = [];
  for (const entry of entries) {
    const file = program.getSourceFile(entry);
    const module = file && checker.getSymbolAtLocation(file);
    if (module === undefined) throw new Error(`cannot read the declarations of ${entry}`);
    for (const symbol of checker.getExportsOfModule(module)) {
      exported.add(resolve(symbol));
      roots.push(resolve(symbol));
    }
  }

  const forgotten = new Map<string, ForgottenExport>();
  const inPackage = (decl: ts.Declaration): boolean =>
    decl.getSourceFile().fileName.startsWith(packageDir) &&
    !decl.getSourceFile().fileName.includes('/node_modules/', packageDir.length);
  const visit = (node: ts.Node, owner: string): void => {
    if (isPrivate(node)) return;
    if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node) || ts.isTypeQueryNode(node)) {
      const name = ts.isTypeReferenceNode(node)
        ? node.typeName
        : ts.isTypeQueryNode(node)
          ? node.exprName
          : node.expression;
      const symbol = checker.getSymbolAtLocation(name);
      const target = symbol && resolve(symbol);
      const decl = target?.declarations?.[0];
      if (
        target !== undefined &&
        decl !== undefined &&
        !(target.flags & ts.SymbolFlags.TypeParameter) &&
        inPackage(decl) &&
        !exported.has(target)
      ) {
        const key = `${target.name} ${decl.getSourceFile().fileName}`;
        if (!forgotten.has(key))
          forgotten.set(key, {
            name: target.name,
            declaredIn: decl.getSourceFile().fileName.slice(packageDir.length + 1),
            mentionedBy: owner,
          });
      }
    }
    // `implements` is checked where the class is written; it is no part of the class's type.
    if (ts.isHeritageClause(node) && node.token === ts.SyntaxKind.ImplementsKeyword) return;
    ts.forEachChild(node, (child) => visit(child, owner));
  };
  for (const root of roots) {
    for (const decl of root.declarations ?? []) {
      if (ts.isModuleDeclaration(decl) || ts.isSourceFile(decl)) continue;
      visit(decl, root.name);
    }
  }
  return [...forgotten.values()].sort((a, b) => a.name.localeCompare(b.name));
}
