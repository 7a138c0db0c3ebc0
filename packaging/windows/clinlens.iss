; Inno Setup script for ClinLens on Windows (Inno Setup 6).
; Build the one-folder bundle first on Windows:  python packaging\build.py
; then:  iscc packaging\windows\clinlens.iss   ->  dist\ClinLens-<version>-setup.exe
; The bundle is the spec's Windows variant (CLINLENS_TARGET=win32 is the default there):
; a windowed ClinLens.exe, whose worker children still get stdin/stdout pipes.

#define AppName "ClinLens"
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define DistDir "..\..\dist\ClinLens"

[Setup]
AppId={{5B0E7C2A-6F1D-4C1B-9A7E-3C3F1A0C1E55}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=ClinLens
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
; Per-machine install under Program Files (read-only for users: ClinLens keeps its settings,
; logs and ultralytics settings in %APPDATA%\ClinLens). Users without admin rights may pick
; a per-user install in the dialog.
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=ClinLens-{#AppVersion}-setup
Compression=lzma2/ultra64
SolidCompression=yes
LZMANumBlockThreads=4
DiskSpanning=no
WizardStyle=modern
UninstallDisplayIcon={app}\ClinLens.exe
LicenseFile=..\..\LICENSE
InfoAfterFile={#DistDir}\_internal\THIRD_PARTY_NOTICES.txt

[Files]
Source: "{#DistDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\ClinLens.exe"
Name: "{group}\{#AppName} self-test"; Filename: "{cmd}"; Parameters: "/k ""{app}\ClinLens.exe"" self-test"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\ClinLens.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Run]
Filename: "{app}\ClinLens.exe"; Description: "Start ClinLens"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; The user's projects and %APPDATA%\ClinLens are never removed by the uninstaller.
Type: filesandordirs; Name: "{app}\_internal\__pycache__"
